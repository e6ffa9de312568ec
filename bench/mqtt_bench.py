#!/usr/bin/env python3
"""Sustained readings/second through MQTT into the lake, and the delay from arrival to commit.

A paho-mqtt publisher (installed into bench/.venv) sends --messages messages of --batch
15-minute readings each (one meter's batch per message, --meters meters) with QoS 1 to the
bench's own Mosquitto (port 18831, unlimited queue, 1,000 in flight), as fast as the broker takes them; `gridmark ingest mqtt` (release)
subscribes with its persistent session, logs, acknowledges and commits every second. The
readings/second is readings over the time from the first publish to the subscriber's last
commit; the delay is the subscriber's own arrival-to-commit measure per committed segment.
Finally the lake is counted. Writes docs/results/mqtt_bench.json.

    cargo build --release
    python3 bench/mqtt_bench.py [--messages 20000] [--batch 100]
"""
import argparse, json, os, shutil, subprocess, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_venv import ensure_venv, ROOT

BIN = os.path.join(ROOT, "target", "release", "gridmark")


def main():
    ensure_venv(__file__, ["paho.mqtt.client"], ["paho-mqtt==2.1.0"])
    import paho.mqtt.client as mqtt

    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--meters", type=int, default=10_000)
    ap.add_argument("--dir", default="/tmp/mqtt-bench")
    ap.add_argument("--port", type=int, default=18831)
    a = ap.parse_args()
    shutil.rmtree(a.dir, ignore_errors=True)
    os.makedirs(a.dir)
    # A broker of the bench's own, configured as a meter stream needs: Mosquitto's defaults
    # keep at most 1,000 queued and 20 in-flight messages per client and silently drop QoS 1
    # messages beyond the queue when a subscriber falls behind a burst.
    conf = os.path.join(a.dir, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write(f"listener {a.port} 127.0.0.1\nallow_anonymous true\n"
                "max_queued_messages 0\nmax_inflight_messages 1000\npersistence false\n")
    broker = subprocess.Popen(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    lake = os.path.join(a.dir, "lake")
    run = f"bench-{os.getpid()}-{int(time.time())}"
    topic = f"{run}/+/readings"
    sub = subprocess.Popen(
        [BIN, "--data", lake, "ingest", "mqtt", "--broker", f"127.0.0.1:{a.port}",
         "--topic", topic, "--client-id", run,
         "--commit-seconds", "1", "--idle-exit", "3", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready = threading.Event()
    log = []

    def watch():
        for line in sub.stderr:
            log.append(line.rstrip())
            if "subscribed, receiving" in line:
                ready.set()

    threading.Thread(target=watch, daemon=True).start()
    if not ready.wait(30):
        raise SystemExit("subscriber did not connect:\n" + "\n".join(log))

    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=run + "-pub")
    pub.max_inflight_messages_set(1000)
    pub.max_queued_messages_set(0)
    pub.connect("127.0.0.1", a.port)
    pub.loop_start()
    # Days of 96 readings per meter, a batch of `--batch` consecutive intervals per message.
    t0 = 1_735_689_600_000
    started = time.perf_counter()
    infos = []
    for k in range(a.messages):
        meter = f"M{k % a.meters:06d}"
        first = t0 + (k // a.meters) * a.batch * 900_000
        rs = ",".join(f"[{first + j * 900_000},{0.1 + (j % 50) * 0.01:.2f}]" for j in range(a.batch))
        body = f'{{"meter_id":"{meter}","readings":[{rs}]}}'
        infos.append(pub.publish(f"{run}/{meter}/readings", body, qos=1))
    for i in infos:
        i.wait_for_publish()
    published = time.perf_counter() - started
    pub.loop_stop()
    pub.disconnect()
    out, _ = sub.communicate(timeout=600)
    ended = time.perf_counter()
    report = json.loads(out)
    readings = a.messages * a.batch
    count = subprocess.run(
        [BIN, "--data", lake, "sql", "SELECT count(*) FROM readings", "--format", "csv"],
        check=True, capture_output=True, text=True).stdout.splitlines()[1]
    # From the first publish to the last commit: the subscriber's final 3 idle seconds are
    # not work.
    busy = ended - started - 3.0
    result = {
        "experiment": "mqtt_bench",
        "messages": a.messages,
        "readings_per_message": a.batch,
        "readings": readings,
        "publish_seconds": round(published, 3),
        "publish_readings_per_second": round(readings / published),
        "first_publish_to_last_commit_seconds": round(busy, 3),
        "sustained_readings_per_second": round(readings / busy),
        "arrival_to_commit_ms_p50": report["arrival_to_commit_ms_p50"],
        "arrival_to_commit_ms_p99": report["arrival_to_commit_ms_p99"],
        "segments_committed": report["segments_committed"],
        "readings_stored": report["readings_stored"],
        "lake_count": int(count),
        "rejected_messages": report["rejected_messages"],
    }
    broker.terminate()
    result["subscriber"] = {k: report[k] for k in ["messages", "readings", "seconds", "duplicates"]}
    result["broker"] = "mosquitto 2, max_queued_messages 0, max_inflight_messages 1000"
    print(json.dumps(result, indent=1))
    path = os.path.join(ROOT, "docs", "results", "mqtt_bench.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
