// gridmark dashboard: one page, no framework, no network but its own API. Every value from
// the API goes into the page as text (never as HTML), so data cannot become markup.
"use strict";

const T = {
  zh: {
    title: "电力营销大数据平台", login: "登录", user: "用户名", password: "密码", sign_in: "登录",
    logout: "退出", overview: "总览", quality: "数据质量", suspects: "窃电嫌疑", lineloss: "线损",
    segments: "客户细分", topics: "投诉主题", service: "渠道与满意度", alerts: "预警", risks: "风险台账",
    audit: "审计", tables: "数据表", customers: "客户数", sales: "最近月售电量 kWh", revenue: "最近月电费 元",
    load: "最近日用电量 kWh", loss_rate: "最近月线损率", open_alerts: "未处理预警", abnormal_areas: "异常台区",
    load_chart: "日用电量与预测", sales_chart: "月售电量", loss_chart: "线损率", actual: "实际", forecast: "预测",
    band80: "80% 区间", no_data: "暂无数据", rank: "排名", meter: "电表", area: "台区", score: "得分",
    reasons: "依据", ack: "确认", acked: "已确认", status: "状态", severity: "级别", rule: "规则",
    subject: "对象", message: "说明", ledger: "审计链校验", intact: "完整", broken: "被篡改",
    security_alerts: "安全告警", rows: "行数", masked: "个人信息已脱敏", scoped: "仅显示授权范围",
    expected: "应采", read: "实采", estimated: "估算", missing: "缺失", completeness: "采集完整率",
    segment: "细分", count: "客户数", channels: "渠道", satisfaction: "满意度", back: "返回",
    daily: "日电量", usual: "常态", role: "角色", bad_login: "登录失败", period: "周期",
    loss_kwh: "损失电量", explainers: "可疑电表",
  },
  en: {
    title: "Electricity marketing analytics", login: "Sign in", user: "User", password: "Password",
    sign_in: "Sign in", logout: "Sign out", overview: "Overview", quality: "Data quality",
    suspects: "Theft suspects", lineloss: "Line loss", segments: "Segments", topics: "Complaint topics",
    service: "Channels & satisfaction", alerts: "Alerts", risks: "Risk register", audit: "Audit",
    tables: "Tables", customers: "Customers", sales: "Sales last month, kWh", revenue: "Billed last month, yuan",
    load: "Load last day, kWh", loss_rate: "Line loss last month", open_alerts: "Open alerts",
    abnormal_areas: "Abnormal areas", load_chart: "Daily load and forecast", sales_chart: "Monthly sales",
    loss_chart: "Line loss rate", actual: "actual", forecast: "forecast", band80: "80 % interval",
    no_data: "No data yet", rank: "Rank", meter: "Meter", area: "Area", score: "Score", reasons: "Evidence",
    ack: "Acknowledge", acked: "acknowledged", status: "Status", severity: "Severity", rule: "Rule",
    subject: "Subject", message: "Message", ledger: "Ledger verification", intact: "intact",
    broken: "broken", security_alerts: "Security alerts", rows: "rows", masked: "personal fields masked",
    scoped: "limited to your scope", expected: "expected", read: "read", estimated: "estimated",
    missing: "missing", completeness: "Completeness", segment: "Segment", count: "Customers",
    channels: "Channels", satisfaction: "Satisfaction", back: "Back", daily: "daily kWh", usual: "usual",
    role: "Role", bad_login: "Sign-in failed", period: "Period", loss_kwh: "Loss kWh",
    explainers: "Meters that explain it",
  },
};

// Which pages a permission opens, in menu order.
const PAGES = [
  ["overview", null],
  ["quality", "read_metering"],
  ["suspects", "read_metering"],
  ["lineloss", "read_metering"],
  ["segments", "read_marketing"],
  ["topics", "read_service"],
  ["service", "read_service"],
  ["alerts", "read_risk"],
  ["risks", "read_risk"],
  ["audit", "read_audit"],
  ["tables", null],
];

let lang = localStorage.getItem("gridmark.lang") || (navigator.language.startsWith("zh") ? "zh" : "en");
let token = sessionStorage.getItem("gridmark.token");
let me = null;
let current = "overview";

const t = (k) => (T[lang] && T[lang][k]) || k;
const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "style") e.style.cssText = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids.flat()) {
    if (k === null || k === undefined) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

function fmt(v, digits) {
  if (typeof v !== "number") return v === null || v === undefined ? "" : String(v);
  const d = digits === undefined ? (Math.abs(v) >= 100 ? 0 : 2) : digits;
  return v.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { maximumFractionDigits: d, minimumFractionDigits: 0 });
}
const pct = (v) => (typeof v === "number" ? (v * 100).toFixed(2) + " %" : "");

async function api(path, opts) {
  const r = await fetch(path, {
    ...(opts || {}),
    headers: { ...(token ? { Authorization: "Bearer " + token } : {}), "Content-Type": "application/json" },
  });
  const body = await r.json().catch(() => ({ error: r.statusText }));
  if (r.status === 401 && token) { logout(); }
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function applyLang() {
  document.documentElement.lang = lang;
  $("#lang").textContent = lang === "zh" ? "English" : "中文";
  document.querySelectorAll("[data-i18n]").forEach((e) => { e.textContent = t(e.dataset.i18n); });
}

function logout() {
  token = null; me = null;
  sessionStorage.removeItem("gridmark.token");
  $("#nav").hidden = true; $("#page").hidden = true; $("#logout").hidden = true;
  $("#login-form").hidden = false; $("#who").textContent = "";
}

async function start() {
  try { me = await api("/api/me"); } catch (e) { logout(); return; }
  $("#login-form").hidden = true; $("#nav").hidden = false; $("#page").hidden = false; $("#logout").hidden = false;
  $("#who").textContent = `${me.user} · ${me.role}` + (me.scope.length ? ` · ${me.scope.join(", ")}` : "");
  const nav = $("#nav");
  nav.replaceChildren();
  for (const [page, perm] of PAGES) {
    if (perm && !me.permissions.includes(perm)) continue;
    nav.append(el("button", { type: "button", "data-page": page, onclick: () => show(page) }, t(page)));
  }
  show(location.hash.slice(1) || current);
}

async function show(page) {
  if (!$(`nav [data-page="${page}"]`)) page = "overview";
  current = page;
  history.replaceState(null, "", "#" + page);
  document.querySelectorAll("nav button").forEach((b) => b.classList.toggle("active", b.dataset.page === page));
  const main = $("#page");
  main.replaceChildren(el("p", { class: "muted" }, "…"));
  // A slower page opened earlier must not replace the one asked for since.
  let content;
  try {
    content = [await VIEWS[page]()].flat();
  } catch (e) {
    content = [el("p", { class: "error", role: "alert" }, e.message)];
  }
  if (current !== page) return;
  main.replaceChildren(...content);
  main.dataset.shown = page;
}

// ---- charts (SVG, drawn here: no charting library to vendor) ----

function lineChart(series, opts) {
  const W = 900, H = 240, L = 64, R = 12, Tp = 10, B = 28;
  const xs = series[0] ? series[0].points.map((p) => p[0]) : [];
  const allX = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort();
  const ys = series.flatMap((s) => s.points.flatMap((p) => p.slice(1).filter((v) => typeof v === "number")));
  if (!allX.length || !ys.length) return el("p", { class: "muted" }, t("no_data"));
  let lo = Math.min(0, ...ys), hi = Math.max(...ys);
  if (hi === lo) hi = lo + 1;
  // Bars sit in bands; lines run edge to edge.
  const banded = series.some((s) => s.bars);
  const X = banded
    ? (x) => L + ((allX.indexOf(x) + 0.5) / allX.length) * (W - L - R)
    : (x) => L + (allX.indexOf(x) / Math.max(1, allX.length - 1)) * (W - L - R);
  const Y = (v) => Tp + (1 - (v - lo) / (hi - lo)) * (H - Tp - B);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("class", "chart");
  const add = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.append(e);
    return e;
  };
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    add("line", { x1: L, x2: W - R, y1: Y(v), y2: Y(v), stroke: "#e3e7ec" });
    add("text", { x: L - 6, y: Y(v) + 4, "text-anchor": "end" }, opts && opts.percent ? pct(v) : fmt(v, 0));
  }
  const step = Math.max(1, Math.ceil(allX.length / 8));
  allX.forEach((x, i) => { if (i % step === 0) add("text", { x: X(x), y: H - 8, "text-anchor": "middle" }, x); });
  for (const s of series) {
    if (s.band) {
      const pts = s.points.filter((p) => typeof p[1] === "number" && typeof p[2] === "number");
      if (pts.length) {
        const d = pts.map((p, i) => `${i ? "L" : "M"}${X(p[0])},${Y(p[2])}`).join("") +
          pts.slice().reverse().map((p) => `L${X(p[0])},${Y(p[1])}`).join("") + "Z";
        add("path", { d, fill: s.color, opacity: 0.18 });
      }
      continue;
    }
    const pts = s.points.filter((p) => typeof p[1] === "number");
    if (s.bars) {
      const bw = Math.min(60, Math.max(2, ((W - L - R) / Math.max(1, allX.length)) * 0.7));
      pts.forEach((p) => add("rect", { x: X(p[0]) - bw / 2, y: Y(p[1]), width: bw, height: Math.max(0, Y(lo) - Y(p[1])), fill: s.color }));
    } else {
      add("path", { d: pts.map((p, i) => `${i ? "L" : "M"}${X(p[0])},${Y(p[1])}`).join(""), fill: "none", stroke: s.color, "stroke-width": 2 });
    }
  }
  const legend = el("div", { class: "legend" },
    series.filter((s) => s.points.length).map((s) => el("span", {}, el("i", { style: `background:${s.color}` }), s.name)));
  return el("div", {}, svg, legend);
}

// ---- tables ----

function table(rows, columns, opts) {
  if (!rows || !rows.length) return el("p", { class: "muted" }, t("no_data"));
  const cols = columns || Object.keys(rows[0]).filter((k) => typeof rows[0][k] !== "object" || rows[0][k] === null);
  const head = el("tr", {}, cols.map((c) => el("th", {}, Array.isArray(c) ? c[1] : t(c))));
  const body = rows.slice(0, (opts && opts.max) || 500).map((r) => {
    const tr = el("tr", opts && opts.onpick ? { class: "pick", onclick: () => opts.onpick(r) } : {},
      cols.map((c) => {
        const k = Array.isArray(c) ? c[0] : c;
        const v = typeof k === "function" ? k(r) : r[k];
        if (v instanceof Node) return el("td", {}, v);
        return el("td", typeof v === "number" ? { class: "n" } : {}, Array.isArray(v) ? v.join("; ") : fmt(v));
      }));
    return tr;
  });
  return el("div", { class: "scroll" }, el("table", {}, el("thead", {}, head), el("tbody", {}, body)));
}

const card = (title, ...kids) => el("section", { class: "card" }, el("h2", {}, title), ...kids);
const kpi = (label, value, id) => el("div", { class: "kpi", "data-kpi": id }, el("div", { class: "v" }, value), el("div", { class: "l" }, label));

// ---- pages ----

const VIEWS = {
  async overview() {
    const o = await api("/api/overview");
    const last = (a) => (a && a.length ? a[a.length - 1] : null);
    const k = [];
    if (o.customers !== undefined) k.push(kpi(t("customers"), fmt(o.customers), "customers"));
    const s = last(o.sales_by_month);
    if (s) { k.push(kpi(`${t("sales")} · ${s.period}`, fmt(s.kwh), "sales")); k.push(kpi(`${t("revenue")} · ${s.period}`, fmt(s.amount_yuan), "revenue")); }
    const d = last(o.load_by_day);
    if (d) k.push(kpi(`${t("load")} · ${d.day}`, fmt(d.kwh), "load"));
    const l = last(o.line_loss_by_period);
    if (l) k.push(kpi(`${t("loss_rate")} · ${l.period}`, pct(l.loss_rate), "loss_rate"));
    if (o.abnormal_areas !== undefined) k.push(kpi(t("abnormal_areas"), fmt(o.abnormal_areas), "abnormal_areas"));
    if (o.alerts) k.push(kpi(t("open_alerts"), fmt((o.alerts.open || 0) + (o.alerts.escalated || 0)), "open_alerts"));
    const out = [el("div", { class: "kpis" }, k)];
    if (o.load_by_day) {
      const f = o.forecast || [];
      out.push(card(t("load_chart"), lineChart([
        { name: t("band80"), color: "#1565c0", band: true, points: f.map((r) => [r.day, r.lo80, r.hi80]) },
        { name: t("actual"), color: "#263238", points: o.load_by_day.map((r) => [r.day, r.kwh]) },
        { name: t("forecast"), color: "#1565c0", points: f.map((r) => [r.day, r.kwh]) },
      ])));
    }
    if (o.sales_by_month) out.push(card(t("sales_chart"), lineChart([{ name: "kWh", color: "#2e7d32", bars: true, points: o.sales_by_month.map((r) => [r.period, r.kwh]) }])));
    if (o.line_loss_by_period) out.push(card(t("loss_chart"), lineChart([{ name: t("loss_rate"), color: "#c62828", points: o.line_loss_by_period.map((r) => [r.period, r.loss_rate]) }], { percent: true })));
    return out;
  },

  async quality() {
    const q = await api("/api/analyses/quality");
    const days = q.days || [];
    const share = (r, k) => (r.expected ? r[k] / r.expected : null);
    return [
      card(t("completeness"), lineChart([
        { name: t("read"), color: "#2e7d32", points: days.map((r) => [r.day, share(r, "read")]) },
        { name: t("estimated"), color: "#f9a825", points: days.map((r) => [r.day, share(r, "estimated")]) },
        { name: t("missing"), color: "#c62828", points: days.map((r) => [r.day, share(r, "missing")]) },
      ], { percent: true })),
      card(t("quality"), q.note ? el("p", { class: "muted" }, q.note) : table(days.slice().reverse())),
    ];
  },

  async suspects() {
    const r = await api("/api/analyses/suspects?top=50");
    const detail = el("div", {});
    const pick = (s) => detail.replaceChildren(card(`${s.meter_id} · ${s.area_id || ""}`,
      el("p", {}, (s.reasons || []).join("; ")),
      lineChart([
        { name: t("usual"), color: "#90a4ae", points: (s.usual_kwh || []).map((v, i) => [r.day_labels[i] || String(i), v]) },
        { name: t("daily"), color: "#c62828", points: (s.daily_kwh || []).map((v, i) => [r.day_labels[i] || String(i), v]) },
      ])));
    return [
      card(`${t("suspects")} · ${r.model} · ${fmt(r.meters)} ${t("meter")}`,
        table(r.suspects, ["rank", "meter_id", "customer_id", "area_id", ["score", t("score")], "drop_day",
          "kwh_per_day_before", "kwh_per_day_after", ["reasons", t("reasons")]], { onpick: pick })),
      detail,
    ];
  },

  async lineloss() {
    const r = await api("/api/analyses/lineloss?period=month");
    return [
      card(t("abnormal_areas"), table(r.abnormal, ["area_id", "periods", "abnormal_periods",
        [(a) => pct(a.overall_rate), t("loss_rate")], "flags",
        [(a) => a.explainers.map((e) => `${e.meter_id} (${fmt(e.fell_kwh)} kWh)`), t("explainers")]])),
      card(t("lineloss"), table(r.rows, ["area_id", ["period", t("period")], "supply_kwh", "metered_kwh",
        ["loss_kwh", t("loss_kwh")], [(a) => pct(a.loss_rate), t("loss_rate")], "flags"])),
    ];
  },

  async segments() {
    const r = await api("/api/tables/segments?limit=10000");
    const by = {};
    for (const row of r.rows) {
      const k = row.segment_name || row.segment;
      by[k] = by[k] || { segment: k, count: 0, kwh: 0 };
      by[k].count += 1; by[k].kwh += Number(row.mean_daily_kwh) || 0;
    }
    const groups = Object.values(by).map((g) => ({ segment: g.segment, count: g.count, mean_daily_kwh: g.kwh / g.count }));
    return [
      card(t("segments"), lineChart([{ name: t("count"), color: "#6a1b9a", bars: true, points: groups.map((g) => [g.segment, g.count]) }]),
        table(groups)),
      card(t("customers"), table(r.rows, null, { max: 200 })),
    ];
  },

  async topics() {
    const r = await api("/api/tables/text_topics?limit=1000");
    return card(t("topics"), table(r.rows));
  },

  async service() {
    const [c, s] = await Promise.all([
      api("/api/analyses/channels").catch((e) => ({ error: e.message })),
      api("/api/analyses/satisfaction").catch((e) => ({ error: e.message })),
    ]);
    return [
      card(t("channels"), c.error ? el("p", { class: "error" }, c.error) :
        [el("p", {}, `${c.first_month} – ${c.last_month}: ${fmt(c.contacts)} · digital ${pct(c.digital_share)}`), table(c.channels)]),
      card(t("satisfaction"), s.error ? el("p", { class: "error" }, s.error) :
        [el("p", {}, `CSAT ${fmt(s.overall && s.overall.csat)} · NPS ${fmt(s.overall && s.overall.nps)} · n=${fmt(s.answers)}`), table(s.groups)]),
    ];
  },

  async alerts() {
    const list = await api("/api/alerts");
    const manage = me.permissions.includes("manage_risk");
    const ackCell = (a) => (manage && (a.status === "open" || a.status === "escalated")
      ? el("button", { class: "act", type: "button", "data-ack": a.id, onclick: async (ev) => {
          ev.stopPropagation();
          await api(`/api/alerts/${encodeURIComponent(a.id)}/ack`, { method: "POST", body: JSON.stringify({ note: "dashboard" }) });
          show("alerts");
        } }, t("ack"))
      : a.status);
    return card(`${t("alerts")} (${list.length})`, table(list, [
      [(a) => el("span", { class: "sev-" + a.severity }, a.severity), t("severity")], ["rule", t("rule")],
      ["subject", t("subject")], "as_of", ["message", t("message")], [ackCell, t("status")]]));
  },

  async risks() {
    return card(t("risks"), table(await api("/api/risks")));
  },

  async audit() {
    const [v, sec] = await Promise.all([api("/api/audit/verify"), api("/api/security/alerts")]);
    const ok = v.intact !== undefined ? v.intact : !v.first_broken;
    return [
      card(t("ledger"), el("p", { id: "ledger-status", class: ok ? "ok" : "bad" }, ok ? t("intact") : t("broken")),
        el("pre", {}, JSON.stringify(v, null, 2))),
      card(t("security_alerts"), table(sec.slice().reverse(), ["kind", "subject", "message",
        [(a) => new Date(a.at_ms).toISOString(), "at"]])),
    ];
  },

  async tables() {
    const list = await api("/api/tables");
    const detail = el("div", {});
    const open = async (row) => {
      const r = await api(`/api/tables/${encodeURIComponent(row.table)}?limit=200`);
      detail.replaceChildren(card(`${r.table}` + (r.masked ? ` · ${t("masked")}` : "") + (r.scoped ? ` · ${t("scoped")}` : ""),
        table(r.rows, null, { max: 200 })));
    };
    return [card(t("tables"), table(list, ["table", ["rows", t("rows")], "doc"], { onpick: open })), detail];
  },
};

$("#lang").addEventListener("click", () => {
  lang = lang === "zh" ? "en" : "zh";
  localStorage.setItem("gridmark.lang", lang);
  applyLang();
  if (me) start();
});
$("#logout").addEventListener("click", logout);
$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("#login-error").textContent = "";
  try {
    const r = await api("/api/login", { method: "POST", body: JSON.stringify({ user: $("#user").value, password: $("#password").value }) });
    token = r.token;
    sessionStorage.setItem("gridmark.token", token);
    $("#password").value = "";
    start();
  } catch (e) {
    $("#login-error").textContent = `${t("bad_login")}: ${e.message}`;
  }
});
applyLang();
if (token) start();
