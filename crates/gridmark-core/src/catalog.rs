//! The data model: every table of the lake, its columns, natural key and partitioning.
//! `docs/data-model.md` is the prose twin of this file; `gridmark tables --schema` prints it.

use crate::CoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Utf8,
    Int64,
    Float64,
    Bool,
    /// Calendar date (days since 1970-01-01).
    Date,
    /// UTC instant in milliseconds (`Timestamp(ms, "UTC")` in Arrow and Parquet).
    TimestampMs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
    pub doc: &'static str,
}

/// How a table's files are split on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partitioning {
    /// One folder for the whole table.
    None,
    /// `month=YYYY-MM` folders by the UTC month of a timestamp column.
    MonthOf(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// Interval energy (readings, area supply): large, time-partitioned, streamed in.
    Series,
    /// Archives and transactions: small enough to hold in memory while importing.
    Records,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDef {
    pub name: &'static str,
    pub doc: &'static str,
    pub kind: TableKind,
    pub columns: &'static [ColumnDef],
    /// Natural key: a second row with the same key is a duplicate and is not stored again.
    pub key: &'static [&'static str],
    pub partitioning: Partitioning,
    /// Columns holding personal data (encrypted and masked by the server issue).
    pub personal: &'static [&'static str],
}

impl TableDef {
    pub fn column(&self, name: &str) -> Option<(usize, &ColumnDef)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
    }
}

const fn col(name: &'static str, ty: ColumnType, nullable: bool, doc: &'static str) -> ColumnDef {
    ColumnDef {
        name,
        ty,
        nullable,
        doc,
    }
}

use ColumnType::*;

const READINGS: &[ColumnDef] = &[
    col(
        "meter_id",
        Utf8,
        false,
        "meter number from the collection system",
    ),
    col("ts", TimestampMs, false, "UTC start of the interval"),
    col(
        "interval_s",
        Int64,
        false,
        "interval length in seconds (900, 1800, 3600, 86400…)",
    ),
    col(
        "kwh",
        Float64,
        false,
        "energy in the interval, kWh; negative = export (net metering)",
    ),
    col(
        "quality",
        Utf8,
        false,
        "raw | validated | estimated | edited",
    ),
    col(
        "source",
        Utf8,
        false,
        "where it came from: file name, mqtt topic, generator",
    ),
];

const AREA_SUPPLY: &[ColumnDef] = &[
    col("area_id", Utf8, false, "transformer area (台区)"),
    col("ts", TimestampMs, false, "UTC start of the interval"),
    col("interval_s", Int64, false, "interval length in seconds"),
    col(
        "kwh",
        Float64,
        false,
        "energy through the area's supply (总表) meter, kWh",
    ),
    col(
        "quality",
        Utf8,
        false,
        "raw | validated | estimated | edited",
    ),
    col("source", Utf8, false, "origin of the row"),
];

const SERIES: &[ColumnDef] = &[
    col(
        "series_id",
        Utf8,
        false,
        "e.g. weather.temp_c.north, price.spot.cny_mwh, ett.OT",
    ),
    col("ts", TimestampMs, false, "UTC instant of the value"),
    col("value", Float64, false, "the value, in the series' unit"),
    col("source", Utf8, false, "origin of the row"),
];

const METERS: &[ColumnDef] = &[
    col("meter_id", Utf8, false, "meter number"),
    col("customer_id", Utf8, true, "customer the meter bills"),
    col("area_id", Utf8, true, "transformer area the meter hangs on"),
    col(
        "tz",
        Utf8,
        true,
        "IANA time zone of the meter's local times (default: the lake's)",
    ),
    col(
        "interval_s",
        Int64,
        true,
        "nominal reading interval in seconds",
    ),
    col(
        "multiplier",
        Float64,
        true,
        "CT/PT ratio applied to the register",
    ),
    col("meter_type", Utf8, true, "single_phase | three_phase | ct"),
    col("install_date", Date, true, "installation date"),
    col("status", Utf8, true, "active | removed"),
];

const CUSTOMERS: &[ColumnDef] = &[
    col("customer_id", Utf8, false, "customer (account) number"),
    col("name", Utf8, true, "personal: name"),
    col("phone", Utf8, true, "personal: phone"),
    col(
        "id_number",
        Utf8,
        true,
        "personal: national ID / business licence",
    ),
    col("address", Utf8, true, "personal: address"),
    col("region", Utf8, true, "region (county / district)"),
    col("area_id", Utf8, true, "transformer area"),
    col(
        "customer_class",
        Utf8,
        true,
        "residential | commercial | industrial",
    ),
    col("industry", Utf8, true, "industry or household"),
    col("tariff", Utf8, true, "tariff id (see tariffs)"),
    col("contract_kw", Float64, true, "contracted capacity, kW"),
    col("lat", Float64, true, "latitude"),
    col("lon", Float64, true, "longitude"),
    col("open_date", Date, true, "account opened"),
    col(
        "close_date",
        Date,
        true,
        "account closed (churned or moved)",
    ),
    col("status", Utf8, true, "active | closed | suspended"),
];

const AREAS: &[ColumnDef] = &[
    col("area_id", Utf8, false, "transformer area (台区)"),
    col("name", Utf8, true, "area name"),
    col("region", Utf8, true, "region"),
    col("capacity_kva", Float64, true, "transformer rating, kVA"),
    col("lat", Float64, true, "latitude"),
    col("lon", Float64, true, "longitude"),
];

const TARIFFS: &[ColumnDef] = &[
    col("tariff", Utf8, false, "tariff id"),
    col("name", Utf8, true, "human name"),
    col("kind", Utf8, false, "flat | tiered | tou"),
    col("customer_class", Utf8, true, "who it applies to"),
    col("effective_from", Date, false, "first day in force"),
    col(
        "effective_to",
        Date,
        true,
        "first day no longer in force (exclusive); null = open",
    ),
    col(
        "component",
        Utf8,
        false,
        "flat | tier1, tier2… | peak, flat, valley, sharp",
    ),
    col("tier_basis", Utf8, true, "tiers: monthly | annual"),
    col(
        "tier_upper_kwh",
        Float64,
        true,
        "tiers: upper bound of the tier's kWh (null = no bound)",
    ),
    col(
        "months",
        Utf8,
        true,
        "tou: months the window applies, e.g. 1-12 or 6-9",
    ),
    col("day_type", Utf8, true, "tou: all | weekday | holiday"),
    col(
        "start_min",
        Int64,
        true,
        "tou: window start, minutes after local midnight",
    ),
    col(
        "end_min",
        Int64,
        true,
        "tou: window end (exclusive), minutes after local midnight",
    ),
    col(
        "price_e4",
        Int64,
        false,
        "price in 1/10000 yuan per kWh (0.4883 yuan = 4883)",
    ),
];

const BILLS: &[ColumnDef] = &[
    col("bill_id", Utf8, false, "bill number"),
    col("customer_id", Utf8, false, "customer"),
    col("period", Utf8, false, "billing month YYYY-MM"),
    col("kwh", Float64, false, "billed energy"),
    col("amount_fen", Int64, false, "amount due, fen (integer)"),
    col("tariff", Utf8, true, "tariff applied"),
    col("issue_date", Date, false, "issued"),
    col("due_date", Date, false, "due"),
    col("status", Utf8, true, "paid | partial | unpaid"),
];

const PAYMENTS: &[ColumnDef] = &[
    col("payment_id", Utf8, false, "payment number"),
    col("bill_id", Utf8, true, "bill settled"),
    col("customer_id", Utf8, false, "customer"),
    col("paid_at", TimestampMs, false, "UTC instant of payment"),
    col("amount_fen", Int64, false, "amount, fen"),
    col(
        "channel",
        Utf8,
        true,
        "hall | app | web | bank | wechat | alipay",
    ),
];

const WORK_ORDERS: &[ColumnDef] = &[
    col("order_id", Utf8, false, "work order number"),
    col("customer_id", Utf8, true, "customer"),
    col("created_at", TimestampMs, false, "opened (UTC)"),
    col("closed_at", TimestampMs, true, "closed (UTC)"),
    col(
        "channel",
        Utf8,
        true,
        "hall | phone_95598 | app | web | wechat",
    ),
    col(
        "kind",
        Utf8,
        true,
        "complaint | request | consultation | repair | praise",
    ),
    col(
        "category",
        Utf8,
        true,
        "billing | outage | metering | service_attitude | new_connection | tariff | other",
    ),
    col("language", Utf8, true, "zh | en"),
    col(
        "text",
        Utf8,
        true,
        "what the customer said (written or transcribed)",
    ),
    col("staff_id", Utf8, true, "handler"),
    col("status", Utf8, true, "open | closed"),
];

const SURVEYS: &[ColumnDef] = &[
    col("survey_id", Utf8, false, "survey response"),
    col("customer_id", Utf8, true, "customer"),
    col(
        "order_id",
        Utf8,
        true,
        "work order the survey follows, if any",
    ),
    col("staff_id", Utf8, true, "staff member rated, if any"),
    col("channel", Utf8, true, "channel of the contact surveyed"),
    col("ts", TimestampMs, false, "answered (UTC)"),
    col("csat", Int64, true, "satisfaction 1–5"),
    col("nps", Int64, true, "likelihood to recommend 0–10"),
    col("comment", Utf8, true, "free text"),
];

const CHANNEL_EVENTS: &[ColumnDef] = &[
    col("event_id", Utf8, false, "event"),
    col("customer_id", Utf8, false, "customer"),
    col("ts", TimestampMs, false, "UTC instant"),
    col(
        "channel",
        Utf8,
        false,
        "hall | phone_95598 | app | web | wechat",
    ),
    col(
        "action",
        Utf8,
        true,
        "pay | query_bill | report_outage | complaint | apply | login",
    ),
    col("duration_s", Int64, true, "time spent / waited, seconds"),
];

const STAFF: &[ColumnDef] = &[
    col("staff_id", Utf8, false, "staff number"),
    col("name", Utf8, true, "personal: name"),
    col("region", Utf8, true, "region served"),
    col("hall_id", Utf8, true, "service hall, if hall-based"),
    col(
        "role",
        Utf8,
        true,
        "agent_95598 | hall_clerk | inspector | field_engineer",
    ),
    col("hire_date", Date, true, "hired"),
];

const SERVICE_HALLS: &[ColumnDef] = &[
    col("hall_id", Utf8, false, "service hall (营业厅)"),
    col("name", Utf8, true, "name"),
    col("region", Utf8, true, "region"),
    col("lat", Float64, true, "latitude"),
    col("lon", Float64, true, "longitude"),
    col("opened", Date, true, "opened"),
];

const RELATIONS: &[ColumnDef] = &[
    col("src_customer_id", Utf8, false, "from"),
    col("dst_customer_id", Utf8, false, "to"),
    col(
        "kind",
        Utf8,
        false,
        "referral | neighbour | family | social",
    ),
    col("weight", Float64, true, "strength of the tie"),
    col("since", Date, true, "first seen"),
];

const PRODUCTS: &[ColumnDef] = &[
    col("customer_id", Utf8, false, "customer"),
    col(
        "product",
        Utf8,
        false,
        "e_billing | tou_plan | ev_charging | rooftop_solar | smart_home",
    ),
    col("start_date", Date, false, "adopted"),
    col("end_date", Date, true, "dropped"),
];

const READINGS_VALIDATED: &[ColumnDef] = &[
    col("meter_id", Utf8, false, "meter number"),
    col("ts", TimestampMs, false, "UTC start of the interval"),
    col("interval_s", Int64, false, "interval length in seconds"),
    col(
        "kwh",
        Float64,
        false,
        "validated energy in the interval, kWh; negative = export (net metering)",
    ),
    col(
        "quality",
        Utf8,
        false,
        "validated (read, passed every rule) | estimated (filled) | edited (moved by a rule)",
    ),
    col(
        "source",
        Utf8,
        false,
        "the VEE run that wrote it (vee:<run_id>)",
    ),
];

const VEE_RUNS: &[ColumnDef] = &[
    col(
        "run_id",
        Utf8,
        false,
        "VEE run id (UTC start time, e.g. 20251201T020000Z)",
    ),
    col("started_at", TimestampMs, false, "when the run started"),
    col("finished_at", TimestampMs, false, "when the run committed"),
    col("config", Utf8, false, "the ordered rules and limits, JSON"),
    col("meters", Int64, false, "meters validated"),
    col("readings_in", Int64, false, "raw readings read"),
    col(
        "readings_out",
        Int64,
        false,
        "rows written to readings_validated",
    ),
    col("estimated", Int64, false, "intervals filled by estimation"),
    col("edited", Int64, false, "intervals moved by a rule"),
    col(
        "left_missing",
        Int64,
        false,
        "intervals too long a gap to estimate",
    ),
];

const VEE_EDITS: &[ColumnDef] = &[
    col("run_id", Utf8, false, "VEE run that made the change"),
    col("meter_id", Utf8, false, "meter"),
    col("interval_s", Int64, false, "interval length in seconds"),
    col(
        "ts",
        TimestampMs,
        false,
        "UTC start of the changed interval",
    ),
    col(
        "rule",
        Utf8,
        false,
        "missing | misaligned | register_reset | negative | spike | capacity | stuck | zero_run",
    ),
    col("before_kwh", Float64, true, "raw value (null: never read)"),
    col(
        "after_kwh",
        Float64,
        true,
        "validated value (null: left missing)",
    ),
    col("quality", Utf8, false, "estimated | edited | missing"),
    col("method", Utf8, false, "linear | profile | none"),
];

const VEE_FINDINGS: &[ColumnDef] = &[
    col("run_id", Utf8, false, "VEE run that found it"),
    col("meter_id", Utf8, false, "meter"),
    col(
        "rule",
        Utf8,
        false,
        "rule name, or reverse_flow / not_estimated",
    ),
    col("start_ts", TimestampMs, false, "UTC start of the stretch"),
    col(
        "end_ts",
        TimestampMs,
        false,
        "UTC end of the stretch (exclusive)",
    ),
    col("intervals", Int64, false, "intervals in the stretch"),
    col("action", Utf8, false, "invalidated | flagged | edited"),
    col("detail", Utf8, true, "what was seen"),
];

const SEGMENTS: &[ColumnDef] = &[
    col(
        "customer_id",
        Utf8,
        false,
        "customer (or meter, when it has no customer)",
    ),
    col(
        "run_id",
        Utf8,
        false,
        "the segmentation run (UTC start time)",
    ),
    col("segment", Int64, false, "segment number, 0 = the largest"),
    col(
        "segment_name",
        Utf8,
        false,
        "the segment described in words",
    ),
    col(
        "distance",
        Float64,
        false,
        "distance to the segment centre in standard deviations (how typical the member is)",
    ),
    col(
        "mean_daily_kwh",
        Float64,
        false,
        "mean daily kWh over the days used",
    ),
];

const CUSTOMER_PROFILES: &[ColumnDef] = &[
    col("customer_id", Utf8, false, "customer"),
    col("run_id", Utf8, false, "the profile build (UTC start time)"),
    col(
        "customer_class",
        Utf8,
        true,
        "residential | commercial | industrial",
    ),
    col("region", Utf8, true, "region"),
    col("tenure_days", Int64, true, "days since the account opened"),
    col(
        "mean_daily_kwh",
        Float64,
        true,
        "mean daily kWh over the data",
    ),
    col(
        "consumption_level",
        Utf8,
        true,
        "low | medium | high: tercile within the class",
    ),
    col(
        "trend_pct",
        Float64,
        true,
        "last 90 days ÷ the 90 before, against the class median of the same ratio, %",
    ),
    col(
        "peak_block",
        Utf8,
        true,
        "working-day 3-hour block with the most energy",
    ),
    col(
        "peak_valley_ratio",
        Float64,
        true,
        "peak block ÷ lowest block, working days",
    ),
    col(
        "load_factor",
        Float64,
        true,
        "mean ÷ peak 3-hour block, working days",
    ),
    col(
        "rest_day_ratio",
        Float64,
        true,
        "rest-day ÷ working-day energy",
    ),
    col(
        "summer_ratio",
        Float64,
        true,
        "June–September daily energy ÷ the mean",
    ),
    col(
        "winter_ratio",
        Float64,
        true,
        "December–February daily energy ÷ the mean",
    ),
    col(
        "cooling_pct_per_c",
        Float64,
        true,
        "% more energy per degree above 22 °C",
    ),
    col(
        "heating_pct_per_c",
        Float64,
        true,
        "% more energy per degree below 15 °C",
    ),
    col(
        "late_share",
        Float64,
        true,
        "share of bills due in 12 months paid late",
    ),
    col(
        "mean_days_late",
        Float64,
        true,
        "mean days late over those bills",
    ),
    col(
        "outstanding_yuan",
        Float64,
        false,
        "amount due and unpaid, yuan",
    ),
    col(
        "punctuality",
        Utf8,
        false,
        "punctual | sometimes late | often late | in arrears | no bills yet",
    ),
    col(
        "complaints_12m",
        Int64,
        false,
        "complaints in the last 12 months",
    ),
    col(
        "complaint_sentiment",
        Float64,
        true,
        "mean sentiment of the complaints' text (text analytics)",
    ),
    col(
        "preferred_channel",
        Utf8,
        true,
        "most used contact channel, 12 months",
    ),
    col(
        "digital_share",
        Float64,
        true,
        "share of contacts through app, web or WeChat",
    ),
    col(
        "segment",
        Int64,
        true,
        "load-shape segment (`gridmark segment run`)",
    ),
    col("segment_name", Utf8, true, "the segment in words"),
    col(
        "revenue_12m_yuan",
        Float64,
        false,
        "billed in the last 12 months, yuan",
    ),
    col(
        "value_tier",
        Utf8,
        false,
        "at-risk | high-value | growth | low-value | stable (docs/customers.md)",
    ),
    col(
        "churn_probability",
        Float64,
        true,
        "from `gridmark risk-model score churn`",
    ),
    col(
        "arrears_probability",
        Float64,
        true,
        "from `gridmark risk-model score arrears`",
    ),
    col("tags", Utf8, false, "the profile's tags, comma-separated"),
];

const RISK_SCORES: &[ColumnDef] = &[
    col("customer_id", Utf8, false, "customer"),
    col("model", Utf8, false, "churn | arrears"),
    col("run_id", Utf8, false, "the scoring run (UTC start time)"),
    col("as_of", Date, false, "features from data before this day"),
    col(
        "horizon_days",
        Int64,
        false,
        "the risk is for this many days from as_of",
    ),
    col(
        "probability",
        Float64,
        false,
        "calibrated probability of the event in the horizon",
    ),
    col("rank", Int64, false, "1 = highest risk"),
    col(
        "band",
        Utf8,
        false,
        "high (top 5 %) | medium (next 15 %) | low",
    ),
    col(
        "reasons",
        Utf8,
        true,
        "the three features that raise the risk most, with values and log-odds contributions",
    ),
];

const TEXT_DOCUMENTS: &[ColumnDef] = &[
    col("source", Utf8, false, "work_order | survey"),
    col("doc_id", Utf8, false, "order_id or survey_id"),
    col("run_id", Utf8, false, "the analysis run (UTC start time)"),
    col("customer_id", Utf8, true, "customer"),
    col("ts", TimestampMs, false, "created or answered (UTC)"),
    col(
        "language",
        Utf8,
        false,
        "zh | en | mixed | unknown (detected)",
    ),
    col("kind", Utf8, true, "work-order kind; survey for comments"),
    col(
        "category_given",
        Utf8,
        true,
        "category written on the work order, if any",
    ),
    col(
        "category",
        Utf8,
        true,
        "category predicted from the text (null without a model)",
    ),
    col(
        "category_margin",
        Float64,
        true,
        "decision value of the predicted category (higher = surer)",
    ),
    col(
        "sentiment_score",
        Float64,
        false,
        "lexicon score: sum of sentiment words after degree and negation",
    ),
    col("sentiment", Utf8, false, "positive | neutral | negative"),
    col(
        "keywords",
        Utf8,
        true,
        "top terms by TF-IDF, comma-separated",
    ),
    col("words", Int64, false, "words after segmentation"),
];

const TEXT_TOPICS: &[ColumnDef] = &[
    col("week", Date, false, "Monday of the week (UTC)"),
    col("term", Utf8, false, "word or character bigram"),
    col("run_id", Utf8, false, "the analysis run (UTC start time)"),
    col(
        "topic",
        Utf8,
        false,
        "the term heading this term's group: terms in nearly the same documents that week",
    ),
    col("docs", Int64, false, "documents holding the term that week"),
    col("share", Float64, false, "share of the week's documents"),
    col(
        "hot_rank",
        Int64,
        true,
        "rank by documents among the week's hot terms (1 = most)",
    ),
    col(
        "expected",
        Float64,
        true,
        "documents expected from the previous 8 weeks (null: too little history)",
    ),
    col(
        "p_value",
        Float64,
        true,
        "one-sided Poisson p-value of so many documents",
    ),
    col(
        "emerging",
        Utf8,
        false,
        "yes: significant jump (Bonferroni over the week's terms) | no",
    ),
    col(
        "example",
        Utf8,
        true,
        "one text of the week holding the term",
    ),
];

const COMPLAINT_LINKS: &[ColumnDef] = &[
    col("order_id", Utf8, false, "the complaint work order"),
    col("run_id", Utf8, false, "the analysis run (UTC start time)"),
    col("customer_id", Utf8, true, "customer"),
    col("created_at", TimestampMs, false, "complaint opened (UTC)"),
    col(
        "category",
        Utf8,
        true,
        "category written on the order, else predicted",
    ),
    col(
        "estimated_days",
        Int64,
        false,
        "days with estimated, edited or missing reads in the 45 days before (latest VEE run)",
    ),
    col(
        "bill_ratio",
        Float64,
        true,
        "latest bill issued in the 45 days before ÷ the median of the 6 before it",
    ),
    col(
        "meter_event",
        Utf8,
        true,
        "VEE finding on the customer's meters in the 30 days before (rule, dates)",
    ),
    col(
        "area_outage",
        Utf8,
        true,
        "zero or missing readings on most of the area's meters at once in the 7 days before",
    ),
    col(
        "tariff_change",
        Utf8,
        true,
        "the customer's tariff or its prices changed in the 60 days before",
    ),
    col(
        "cause",
        Utf8,
        false,
        "estimated_reads | high_bill | meter_fault | outage | tariff_change | none",
    ),
    col("explanation", Utf8, false, "the likely cause in words"),
];

const FORECASTS: &[ColumnDef] = &[
    col("run_id", Utf8, false, "the forecast run (UTC start time)"),
    col("level", Utf8, false, "total | region | area | customer"),
    col(
        "node_id",
        Utf8,
        false,
        "`total`, a region, an area_id or a customer_id",
    ),
    col(
        "model",
        Utf8,
        false,
        "method chosen for this series by backtest: snaive, ets, mstl, linear, gbdt",
    ),
    col("origin", Date, false, "first forecast day"),
    col("day", Date, false, "local day forecast"),
    col("step", Int64, false, "days ahead (1 = the origin day)"),
    col("kwh", Float64, false, "reconciled point forecast"),
    col("lo80", Float64, false, "80 % conformal interval, low"),
    col("hi80", Float64, false, "80 % conformal interval, high"),
    col("lo95", Float64, false, "95 % conformal interval, low"),
    col("hi95", Float64, false, "95 % conformal interval, high"),
    col(
        "actual",
        Float64,
        true,
        "actual kWh when the day is in the data",
    ),
];

const QUALITY_DAILY: &[ColumnDef] = &[
    col("meter_id", Utf8, false, "meter"),
    col("day", Date, false, "local day in the lake's zone"),
    col(
        "expected",
        Int64,
        false,
        "intervals between the meter's first and last reading",
    ),
    col("read", Int64, false, "intervals with a raw reading"),
    col("validated", Int64, false, "read and passed every rule"),
    col("estimated", Int64, false, "filled by estimation"),
    col("edited", Int64, false, "moved by a rule"),
    col("missing", Int64, false, "left without a value"),
    col(
        "sufficient",
        Bool,
        false,
        "enough read (not estimated) intervals for billing and analysis",
    ),
];

const HOLIDAYS: &[ColumnDef] = &[
    col("day", Date, false, "local calendar day"),
    col("name", Utf8, true, "holiday name"),
    col(
        "kind",
        Utf8,
        false,
        "holiday | workday_swap (an official working weekend day)",
    ),
];

const METER_LABELS: &[ColumnDef] = &[
    col("meter_id", Utf8, false, "meter (or CONS_NO of SGCC data)"),
    col("label", Utf8, false, "e.g. theft, normal, fault"),
    col("value", Int64, true, "label value (SGCC FLAG: 1 = theft)"),
    col("source", Utf8, false, "origin of the label"),
];

macro_rules! table {
    ($name:literal, $kind:ident, $cols:ident, [$($key:literal),*], $part:expr, [$($pii:literal),*], $doc:literal) => {
        TableDef {
            name: $name,
            doc: $doc,
            kind: TableKind::$kind,
            columns: $cols,
            key: &[$($key),*],
            partitioning: $part,
            personal: &[$($pii),*],
        }
    };
}

/// Every table of the lake.
pub static TABLES: &[TableDef] = &[
    table!(
        "readings",
        Series,
        READINGS,
        ["meter_id", "interval_s", "ts"],
        Partitioning::MonthOf("ts"),
        [],
        "interval energy of every meter, every interval length in one table"
    ),
    table!(
        "area_supply",
        Series,
        AREA_SUPPLY,
        ["area_id", "interval_s", "ts"],
        Partitioning::MonthOf("ts"),
        [],
        "energy delivered into each transformer area by its supply meter"
    ),
    table!(
        "series",
        Series,
        SERIES,
        ["series_id", "ts"],
        Partitioning::None,
        [],
        "external series: weather, prices, economic indicators, any wide hourly data"
    ),
    table!(
        "meters",
        Records,
        METERS,
        ["meter_id"],
        Partitioning::None,
        [],
        "meter archive"
    ),
    table!(
        "customers",
        Records,
        CUSTOMERS,
        ["customer_id"],
        Partitioning::None,
        ["name", "phone", "id_number", "address"],
        "customer archive"
    ),
    table!(
        "areas",
        Records,
        AREAS,
        ["area_id"],
        Partitioning::None,
        [],
        "transformer areas (台区)"
    ),
    table!(
        "tariffs",
        Records,
        TARIFFS,
        [
            "tariff",
            "effective_from",
            "component",
            "months",
            "day_type",
            "start_min"
        ],
        Partitioning::None,
        [],
        "effective-dated tiered and time-of-use tariff components"
    ),
    table!(
        "bills",
        Records,
        BILLS,
        ["bill_id"],
        Partitioning::None,
        [],
        "monthly bills"
    ),
    table!(
        "payments",
        Records,
        PAYMENTS,
        ["payment_id"],
        Partitioning::None,
        [],
        "payments against bills"
    ),
    table!(
        "work_orders",
        Records,
        WORK_ORDERS,
        ["order_id"],
        Partitioning::None,
        [],
        "service work orders and complaints (95598, halls, app, web)"
    ),
    table!(
        "surveys",
        Records,
        SURVEYS,
        ["survey_id"],
        Partitioning::None,
        [],
        "satisfaction survey answers"
    ),
    table!(
        "channel_events",
        Records,
        CHANNEL_EVENTS,
        ["event_id"],
        Partitioning::None,
        [],
        "customer interactions by channel"
    ),
    table!(
        "staff",
        Records,
        STAFF,
        ["staff_id"],
        Partitioning::None,
        ["name"],
        "service staff"
    ),
    table!(
        "service_halls",
        Records,
        SERVICE_HALLS,
        ["hall_id"],
        Partitioning::None,
        [],
        "service halls"
    ),
    table!(
        "relations",
        Records,
        RELATIONS,
        ["src_customer_id", "dst_customer_id", "kind"],
        Partitioning::None,
        [],
        "referral / interaction graph between customers"
    ),
    table!(
        "products",
        Records,
        PRODUCTS,
        ["customer_id", "product", "start_date"],
        Partitioning::None,
        [],
        "product and service adoptions (e-billing, ToU plan, EV charging, rooftop solar…)"
    ),
    table!(
        "holidays",
        Records,
        HOLIDAYS,
        ["day"],
        Partitioning::None,
        [],
        "public holidays and swapped working days"
    ),
    table!(
        "meter_labels",
        Records,
        METER_LABELS,
        ["meter_id", "label", "source"],
        Partitioning::None,
        [],
        "known labels of meters (e.g. SGCC theft FLAG)"
    ),
    table!(
        "readings_validated",
        Series,
        READINGS_VALIDATED,
        ["meter_id", "interval_s", "ts"],
        Partitioning::MonthOf("ts"),
        [],
        "readings after validation, estimation and editing (`gridmark vee run`); replaced by each run"
    ),
    table!(
        "vee_runs",
        Records,
        VEE_RUNS,
        ["run_id"],
        Partitioning::None,
        [],
        "one row per VEE run: its configuration and counts"
    ),
    table!(
        "vee_edits",
        Records,
        VEE_EDITS,
        ["run_id", "meter_id", "interval_s", "ts"],
        Partitioning::None,
        [],
        "every interval a VEE run estimated, edited or left missing, with the raw value before and the value after; kept for every run"
    ),
    table!(
        "vee_findings",
        Records,
        VEE_FINDINGS,
        ["run_id", "meter_id", "rule", "start_ts"],
        Partitioning::None,
        [],
        "stretches a VEE rule found suspicious, changed or only flagged; kept for every run"
    ),
    table!(
        "quality_daily",
        Records,
        QUALITY_DAILY,
        ["meter_id", "day"],
        Partitioning::None,
        [],
        "completeness and data sufficiency per meter and local day, from the latest VEE run"
    ),
    table!(
        "forecasts",
        Records,
        FORECASTS,
        ["run_id", "level", "node_id", "day"],
        Partitioning::None,
        [],
        "daily consumption forecasts with intervals per hierarchy node (`gridmark forecast run`); kept for every run"
    ),
    table!(
        "segments",
        Records,
        SEGMENTS,
        ["customer_id"],
        Partitioning::None,
        [],
        "each customer's load-shape segment from the latest `gridmark segment run`"
    ),
    table!(
        "customer_profiles",
        Records,
        CUSTOMER_PROFILES,
        ["customer_id"],
        Partitioning::None,
        [],
        "each customer's profile (客户画像) from the latest `gridmark profile build`"
    ),
    table!(
        "risk_scores",
        Records,
        RISK_SCORES,
        ["model", "customer_id"],
        Partitioning::None,
        [],
        "churn and arrears probabilities with reasons from the latest `gridmark risk-model score`"
    ),
    table!(
        "text_documents",
        Records,
        TEXT_DOCUMENTS,
        ["source", "doc_id"],
        Partitioning::None,
        [],
        "language, sentiment, category and keywords of every work order and survey comment from the latest `gridmark text analyze`"
    ),
    table!(
        "text_topics",
        Records,
        TEXT_TOPICS,
        ["week", "term"],
        Partitioning::None,
        [],
        "hot and emerging terms per week from the latest `gridmark text analyze`"
    ),
    table!(
        "complaint_links",
        Records,
        COMPLAINT_LINKS,
        ["order_id"],
        Partitioning::None,
        [],
        "each complaint with the facts about its account near its date and the likely cause (`gridmark text analyze`)"
    ),
];

/// Tables written by gridmark's own jobs (VEE, …) rather than imported or generated.
pub const DERIVED: &[&str] = &[
    "readings_validated",
    "vee_runs",
    "vee_edits",
    "vee_findings",
    "quality_daily",
    "forecasts",
    "segments",
    "risk_scores",
    "customer_profiles",
    "text_documents",
    "text_topics",
    "complaint_links",
];

/// Looks a table up by name.
pub fn table(name: &str) -> Result<&'static TableDef, CoreError> {
    TABLES
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| CoreError::UnknownTable(name.to_string()))
}

/// The catalog as Markdown, for `docs/data-model.md` (kept in step by a test).
pub fn markdown() -> String {
    let mut s = String::new();
    for t in TABLES {
        s.push_str(&format!("### `{}`\n\n{}.\n\n", t.name, t.doc));
        let part = match t.partitioning {
            Partitioning::None => "not partitioned".to_string(),
            Partitioning::MonthOf(c) => format!("partitioned by UTC month of `{c}`"),
        };
        s.push_str(&format!("Natural key: ({}); {part}", t.key.join(", ")));
        if !t.personal.is_empty() {
            s.push_str(&format!("; personal data: {}", t.personal.join(", ")));
        }
        s.push_str(".\n\n| column | type | null | meaning |\n|---|---|---|---|\n");
        for c in t.columns {
            let ty = match c.ty {
                ColumnType::Utf8 => "text",
                ColumnType::Int64 => "int64",
                ColumnType::Float64 => "float64",
                ColumnType::Bool => "bool",
                ColumnType::Date => "date",
                ColumnType::TimestampMs => "timestamp(ms, UTC)",
            };
            s.push_str(&format!(
                "| `{}` | {ty} | {} | {} |\n",
                c.name,
                if c.nullable { "yes" } else { "no" },
                c.doc.replace('|', "\\|")
            ));
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_and_partition_column_exists_and_keys_are_not_null() {
        for t in TABLES {
            for k in t.key {
                let (_, c) = t.column(k).unwrap_or_else(|| panic!("{}.{k}", t.name));
                if t.name != "tariffs" {
                    assert!(!c.nullable, "{}.{k} is a key and nullable", t.name);
                }
            }
            if let Partitioning::MonthOf(c) = t.partitioning {
                assert_eq!(t.column(c).unwrap().1.ty, ColumnType::TimestampMs);
            }
            for p in t.personal {
                assert!(t.column(p).is_some(), "{}.{p}", t.name);
            }
        }
    }

    #[test]
    fn unknown_table_error_names_it() {
        assert!(
            table("readingz")
                .unwrap_err()
                .to_string()
                .contains("readingz")
        );
    }
}
