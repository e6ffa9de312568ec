#!/usr/bin/env python3
"""`gridmark text analyze` on a lake of generated work orders (default one million, about 100
characters each, Chinese and English, 52 weeks, seed 7, with a planted two-week burst about EV
chargers), in release:

1. writes the orders as CSV and imports them (`gridmark import work_orders`), timed apart;
2. times `gridmark text analyze --json` (language, segmentation, sentiment, the category model
   trained on at most 50,000 of the labelled orders and applied to all, keywords, weekly hot and
   emerging terms, complaint links, storing three tables), with its peak memory;
3. checks that the burst is found.

No peer: no single library does this pipeline. Writes docs/results/text_analyze_bench.json.
Run from the repository root after `cargo build --release`:

    python3 bench/text_analyze_bench.py [--rows 1000000] [--dir /tmp/text-bench]
"""
import argparse, json, os, random, resource, shutil, subprocess, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "gridmark")

ZH = {
    "billing": ["{m}月电费账单{y}元，比平时高了很多，家里没有添什么电器，{dem}",
                "阶梯电价是不是算错了？我家没有用那么多电，账单却多了{p}成，{dem}",
                "已经按时交了电费，系统还显示欠费，还收了违约金，{deg}让人生气。"],
    "outage": ["{place}又停电了，已经{h}个小时没有来电，{deg}影响生活，{dem}",
               "我们台区经常停电，这周已经第{n}次了，冰箱里的东西都坏了，请尽快抢修。"],
    "metering": ["电表好像坏了，读数已经{d}天没有变化，请派人来看看，{dem}",
                 "怀疑电表走得不准，最近{d}天的用电记录{deg}奇怪，希望检测一下电表。"],
    "service_attitude": ["营业厅工作人员态度{deg}差，问个问题都不耐烦，也没有解释清楚。",
                         "打95598等了{n}分钟才接通，客服也没有解决问题，{deg}失望。",
                         "抢修师傅{deg}专业，半夜冒雨来修好了线路，非常感谢！"],
    "tariff": ["峰谷电价怎么申请？想了解一下谷时段是几点到几点，麻烦回复。",
               "电价调整后我们店的电费涨了不少，这个月{y}元，事先没有收到通知，{deg}不满意。"],
    "new_connection": ["报装已经{d}天了还没有接电，{deg}慢，影响开业，{dem}",
                       "新开的店面需要办理用电报装，想了解一下流程和时间，需要带什么材料？"],
}
EN = {
    "billing": ["The bill for month {m} is {y} yuan, far above usual. Was the meter read correctly? {dem_en}"],
    "outage": ["Power cut again near {place_en}, no electricity for {h} hours and nobody told us. {dem_en}"],
    "metering": ["The meter reading has not changed for {d} days, I think the meter is broken. {dem_en}"],
    "service_attitude": ["I waited {n} minutes on the hotline and the agent was not helpful at all, {deg_en} poor service."],
    "tariff": ["After the tariff change our shop paid {y} yuan this month. We were not notified, {deg_en} disappointing."],
    "new_connection": ["I applied for a new connection {d} days ago and still have no power. {dem_en}"],
}
BURST = ["家里的充电桩无法充电，APP一直提示充电桩故障，{dem}",
         "新装的充电桩晚上充不进电，是不是线路容量不够？{dem}"]
DEG = ["非常", "太", "很", "比较", "有点"]
DEM = ["请尽快给个说法！", "麻烦帮忙核实一下，谢谢。", "希望能给个解释。", "请尽快派人检查。"]
DEG_EN = ["really", "very", "quite", "extremely"]
DEM_EN = ["Please look into this, thank you.", "I demand an explanation immediately!"]
PLACES = ["城东小区", "新华路", "东方花园", "江南村", "工业园"]


def fill(r, t):
    return t.format(m=r.randint(1, 12), y=r.randint(80, 900), p=r.randint(2, 9), h=r.randint(1, 8),
                    n=r.randint(2, 60), d=r.randint(2, 30), deg=r.choice(DEG), dem=r.choice(DEM),
                    place=r.choice(PLACES), deg_en=r.choice(DEG_EN), dem_en=r.choice(DEM_EN),
                    place_en=r.choice(["Xinhua Road", "East Garden", "the industrial park"]))


def write_orders(path, rows, seed=7):
    r = random.Random(seed)
    start = 20_090  # 2025-01-02, a Thursday
    cats = list(ZH)
    with open(path, "w", encoding="utf-8") as f:
        f.write("order_id,customer_id,created_at,kind,category,language,text\n")
        for i in range(rows):
            day = start + r.randrange(364)
            week = (day - start) // 7
            if 30 <= week < 32 and r.random() < 0.02:
                cat, lang, text = "metering", "zh", fill(r, r.choice(BURST))
            else:
                cat = r.choice(cats)
                lang = "en" if r.random() < 0.15 else "zh"
                text = fill(r, r.choice(EN[cat] if lang == "en" else ZH[cat]))
                if lang == "zh":  # two or three sentences: about 100 characters
                    text += fill(r, r.choice(ZH[r.choice(cats)]))
                    if r.random() < 0.5:
                        text += fill(r, r.choice(ZH[r.choice(cats)]))
                elif r.random() < 0.5:
                    text += " " + fill(r, r.choice(EN[r.choice(cats)]))
            secs = day * 86400 + r.randrange(8 * 3600, 20 * 3600)
            ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(secs))
            kind = "complaint" if r.random() < 0.6 else "consultation"
            text = text.replace('"', '""')
            f.write(f'W{i:08d},C{r.randrange(rows // 4):07d},{ts},{kind},{cat},{lang},"{text}"\n')


def timed(args):
    t = time.perf_counter()
    out = subprocess.run([BIN] + args, check=True, capture_output=True, text=True)
    return out.stdout, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dir", default="/tmp/text-bench")
    a = ap.parse_args()
    shutil.rmtree(a.dir, ignore_errors=True)
    os.makedirs(a.dir)
    csv = os.path.join(a.dir, "orders.csv")
    t = time.perf_counter()
    write_orders(csv, a.rows)
    gen = time.perf_counter() - t
    chars = os.path.getsize(csv)
    lake = os.path.join(a.dir, "lake")
    _, import_s = timed(["--data", lake, "import", "work_orders", csv])
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out, analyze_s = timed(["--data", lake, "text", "analyze", "--json"])
    rss = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    doc = json.loads(out)
    burst = [t for t in doc["emerging"] if "充电桩" in t["term"]]
    result = {
        "rows": a.rows, "csv_mib": chars / 2**20, "generate_seconds": gen,
        "import_seconds": import_s, "analyze_wall_seconds": analyze_s,
        "analyze_job_seconds": doc["seconds"], "peak_rss_mib": rss,
        "docs_per_second": a.rows / analyze_s, "languages": doc["languages"],
        "category_source": doc["category_source"], "emerging": len(doc["emerging"]),
        "burst_found_weeks": sorted({t["week"] for t in burst}),
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    os.makedirs(os.path.join(ROOT, "docs", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "docs", "results", "text_analyze_bench.json"), "w") as f:
        json.dump(result, f, indent=2, ensure_ascii=False)


if __name__ == "__main__":
    main()
