//! Turns the generated model into catalog rows (one `Rows` per table, catalog column order).

use crate::DemoConfig;
use crate::billing::{Bill, Payment, TariffRow};
use crate::calendar::{Calendar, local_midnight_utc};
use crate::geography::{Class, Geography, REGIONS};
use crate::graph::{PRODUCTS, Social};
use crate::service::Service;
use crate::weather::Weather;
use gridmark_core::Rows;
use gridmark_core::columns::Value;

pub struct Build<'a> {
    pub config: &'a DemoConfig,
    pub cal: &'a Calendar,
    pub geo: &'a Geography,
    pub weather: &'a Weather,
    pub social: &'a Social,
    pub tariffs: &'a [TariffRow],
    pub bills: &'a [Bill],
    pub payments: &'a [Payment],
    pub svc: &'a Service,
}

fn d(day: i64) -> Value {
    Value::Date(day as i32)
}

fn ts(ms: i64) -> Value {
    Value::Ts(ms)
}

fn s(x: &str) -> Value {
    Value::Str(x.to_string())
}

fn opt<T, F: Fn(T) -> Value>(v: Option<T>, f: F) -> Value {
    v.map_or(Value::Null, f)
}

struct Table(Rows);

impl Table {
    fn new(name: &str) -> Table {
        Table(Rows::for_table(name).expect("catalog table"))
    }
    fn push(&mut self, row: Vec<Value>) {
        let name = self.0.table.name;
        if let Err(e) = self.0.push(row) {
            panic!("{name}: {e}");
        }
    }
}

impl Build<'_> {
    pub fn all(&self) -> Vec<Rows> {
        vec![
            self.meters(),
            self.customers(),
            self.areas(),
            self.tariffs(),
            self.bills(),
            self.payments(),
            self.work_orders(),
            self.surveys(),
            self.channel_events(),
            self.staff(),
            self.halls(),
            self.relations(),
            self.products(),
            self.holidays(),
            self.series(),
        ]
    }

    fn meters(&self) -> Rows {
        let mut t = Table::new("meters");
        let end = self.cal.end_day();
        for c in &self.geo.customers {
            let (ty, mult) = match c.class {
                Class::Residential => ("single_phase", 1.0),
                Class::Commercial => ("three_phase", 1.0),
                Class::Industrial => ("ct", [20.0, 30.0, 40.0, 60.0, 80.0][c.idx % 5]),
            };
            let removed = c.close_day.is_some_and(|x| x < end);
            t.push(vec![
                s(&c.meter_id),
                s(&c.id),
                s(&self.geo.areas[c.area].id),
                s(gridmark_core::DEFAULT_TZ),
                Value::Int(self.config.interval_min as i64 * 60),
                Value::Float(mult),
                s(ty),
                d(c.install_day),
                s(if removed { "removed" } else { "active" }),
            ]);
        }
        t.0
    }

    fn customers(&self) -> Rows {
        let mut t = Table::new("customers");
        let end = self.cal.end_day();
        for c in &self.geo.customers {
            let tariff = match c.class {
                Class::Residential
                    if self.social.products[c.idx][crate::graph::TOU_PLAN].is_some() =>
                {
                    "RES_TOU"
                }
                _ => c.base_tariff,
            };
            let closed = c.close_day.is_some_and(|x| x < end);
            let status = if closed {
                "closed"
            } else if c.suspended {
                "suspended"
            } else {
                "active"
            };
            t.push(vec![
                s(&c.id),
                s(&c.name),
                s(&c.phone),
                s(&c.id_number),
                s(&c.address),
                s(REGIONS[c.region].id),
                s(&self.geo.areas[c.area].id),
                s(c.class.as_str()),
                s(c.industry),
                s(tariff),
                Value::Float(c.contract_kw),
                Value::Float(c.lat),
                Value::Float(c.lon),
                d(c.open_day),
                opt(c.close_day, d),
                s(status),
            ]);
        }
        t.0
    }

    fn areas(&self) -> Rows {
        let mut t = Table::new("areas");
        for a in &self.geo.areas {
            t.push(vec![
                s(&a.id),
                s(&a.name),
                s(REGIONS[a.region].id),
                Value::Float(a.capacity_kva),
                Value::Float((a.lat * 1e6).round() / 1e6),
                Value::Float((a.lon * 1e6).round() / 1e6),
            ]);
        }
        t.0
    }

    fn tariffs(&self) -> Rows {
        let mut t = Table::new("tariffs");
        for r in self.tariffs {
            t.push(vec![
                s(r.tariff),
                s(r.name),
                s(r.kind),
                s(r.class),
                d(r.from),
                opt(r.to, d),
                s(r.component),
                opt(r.tier_basis, s),
                opt(r.tier_upper, Value::Float),
                opt(r.months, s),
                opt(r.day_type, s),
                opt(r.start_min, Value::Int),
                opt(r.end_min, Value::Int),
                Value::Int(r.price_e4),
            ]);
        }
        t.0
    }

    fn bills(&self) -> Rows {
        let mut t = Table::new("bills");
        for b in self.bills {
            t.push(vec![
                s(&b.id),
                s(&self.geo.customers[b.customer].id),
                s(&b.period),
                Value::Float(b.kwh),
                Value::Int(b.amount_fen),
                s(b.tariff),
                d(b.issue),
                d(b.due),
                s(b.status),
            ]);
        }
        t.0
    }

    fn payments(&self) -> Rows {
        let mut t = Table::new("payments");
        for p in self.payments {
            t.push(vec![
                s(&p.id),
                s(&self.bills[p.bill].id),
                s(&self.geo.customers[p.customer].id),
                ts(p.paid_at),
                Value::Int(p.amount_fen),
                s(p.channel),
            ]);
        }
        t.0
    }

    fn work_orders(&self) -> Rows {
        let mut t = Table::new("work_orders");
        for o in &self.svc.orders {
            t.push(vec![
                s(&o.id),
                s(&self.geo.customers[o.customer].id),
                ts(o.created),
                opt(o.closed, ts),
                s(o.channel),
                s(o.kind),
                s(o.category),
                s(o.lang),
                s(&o.text),
                s(&self.svc.staff[o.staff].id),
                s(if o.closed.is_some() { "closed" } else { "open" }),
            ]);
        }
        t.0
    }

    fn surveys(&self) -> Rows {
        let mut t = Table::new("surveys");
        for (k, v) in self.svc.surveys.iter().enumerate() {
            t.push(vec![
                s(&format!("V{:07}", k + 1)),
                s(&self.geo.customers[v.customer].id),
                opt(v.order, |o| s(&self.svc.orders[o].id)),
                opt(v.staff, |i| s(&self.svc.staff[i].id)),
                s(v.channel),
                ts(v.ts),
                Value::Int(v.csat),
                Value::Int(v.nps),
                opt(v.comment.as_deref(), s),
            ]);
        }
        t.0
    }

    fn channel_events(&self) -> Rows {
        let mut t = Table::new("channel_events");
        for (k, e) in self.svc.events.iter().enumerate() {
            t.push(vec![
                s(&format!("E{:08}", k + 1)),
                s(&self.geo.customers[e.customer].id),
                ts(e.ts),
                s(e.channel),
                s(e.action),
                Value::Int(e.duration_s),
            ]);
        }
        t.0
    }

    fn staff(&self) -> Rows {
        let mut t = Table::new("staff");
        for st in &self.svc.staff {
            t.push(vec![
                s(&st.id),
                s(&st.name),
                opt(st.region, |r| s(REGIONS[r].id)),
                opt(st.hall, |h| s(&self.geo.halls[h].id)),
                s(st.role),
                d(st.hire),
            ]);
        }
        t.0
    }

    fn halls(&self) -> Rows {
        let mut t = Table::new("service_halls");
        for h in &self.geo.halls {
            t.push(vec![
                s(&h.id),
                s(&h.name),
                s(REGIONS[h.region].id),
                Value::Float((h.lat * 1e6).round() / 1e6),
                Value::Float((h.lon * 1e6).round() / 1e6),
                d(h.opened),
            ]);
        }
        t.0
    }

    fn relations(&self) -> Rows {
        let mut t = Table::new("relations");
        let cs = &self.geo.customers;
        for e in &self.social.edges {
            t.push(vec![
                s(&cs[e.src].id),
                s(&cs[e.dst].id),
                s(e.kind),
                Value::Float(e.weight),
                d(e.since),
            ]);
        }
        t.0
    }

    fn products(&self) -> Rows {
        let mut t = Table::new("products");
        for (i, ps) in self.social.products.iter().enumerate() {
            for (p, spell) in ps.iter().enumerate() {
                if let Some(sp) = spell {
                    t.push(vec![
                        s(&self.geo.customers[i].id),
                        s(PRODUCTS[p]),
                        d(sp.start),
                        opt(sp.end, d),
                    ]);
                }
            }
        }
        t.0
    }

    fn holidays(&self) -> Rows {
        let mut t = Table::new("holidays");
        for h in &self.cal.holidays {
            t.push(vec![d(h.day), s(h.name), s(h.kind)]);
        }
        t.0
    }

    fn series(&self) -> Rows {
        let mut t = Table::new("series");
        for (ri, r) in REGIONS.iter().enumerate() {
            let temp = format!("weather.temp_c.{}", r.id);
            let clear = format!("weather.clearness.{}", r.id);
            for (di, day) in self.cal.days.iter().enumerate() {
                let at = local_midnight_utc(day.day);
                t.push(vec![
                    s(&temp),
                    ts(at),
                    Value::Float(self.weather.temp_c[ri][di]),
                    s("demo"),
                ]);
                t.push(vec![
                    s(&clear),
                    ts(at),
                    Value::Float(self.weather.clear[ri][di]),
                    s("demo"),
                ]);
            }
        }
        t.0
    }
}
