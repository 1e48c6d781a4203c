#!/usr/bin/env python3
"""Regenerates docs/benchmarks.md from the JSON lines of a bench/compare.sh run.

    python3 bench/report.py --results target/bench/compare-….jsonl --versions versions.txt \
        --command 'DURATION=10 REPS=3 bench/compare.sh' --duration 10 --moto-duration 3 --reps 3

Writes the page on stdout: bench/benchmarks.md.in with its {{RESULTS}} placeholder replaced by
the side-by-side section (a table per workload, medians of the repetitions, the ratios
Tern ÷ peer, the command, the versions, what each peer guarantees about durability).
Standard library only.
"""

import argparse
import json
import statistics
from pathlib import Path

TARGETS = {
    "tern": "Tern",
    "nats": "NATS JetStream",
    "rabbitmq": "RabbitMQ (quorum queue)",
    "moto": "moto",
    "null": "null server (ceiling)",
}
PEERS = ["nats", "rabbitmq", "moto", "null"]

WORKLOADS = [
    ("send-b10-100B", "Send only: batches (windows) of 10, 100-byte messages, 4 connections"),
    ("send-b1-100B", "Send only: one message per request (publish and wait), 100 bytes, 4 connections"),
    ("send-b10-4KiB", "Send only: batches (windows) of 10, 4 KiB messages, 4 connections"),
    ("e2e-b10-100B", "End to end: 4 producers + 4 consumers, batches of 10, 100 bytes"),
    ("fifo-e2e-b10-100B", "FIFO end to end: 64 message groups, 4 producers + 4 consumers, batches of 10, 100 bytes"),
    ("paced-half-e2e-b10-100B", "Paced end to end at half load: each target at half its own median end-to-end rate above"),
]

DURABILITY = """\
What an acknowledgement means differs between the targets; each is driven with the strongest
ordinary acknowledgement its protocol offers, and these are the guarantees behind the figures:

- **Tern**: a `SendMessageBatch` reply is sent only after the embedded store's commit returned
  and the writer thread fsynced the WAL behind it (SQLite in WAL mode, group commit, one
  `fdatasync` per batch): an acknowledged message survives `kill -9` and power loss. Deletes are
  durable the same way. A `ReceiveMessage` reply comes once its lease is written to the WAL,
  before that fsync: the lease survives `kill -9`, and a power loss may make the messages
  visible again early, which at-least-once delivery allows; a receive never hands out a message
  whose send is not yet fsynced (decision 0007).
- **NATS JetStream** (one server, file storage, replicas 1): the `PublishAck` comes once the
  message is written to the stream's file store, **before it is fsynced**: by default JetStream
  syncs its files to disk on a timer (every two minutes by default; the `sync_interval` setting
  from server 2.10 on, `sync_always` to fsync every write) rather than per message. An acknowledged message survives a crash of the server process (the data is in the
  kernel's page cache) but can be lost on power loss or a kernel crash. Durability across
  machines would need a 3-replica stream, which a single server cannot show.
- **RabbitMQ quorum queue** (one node): a publisher confirm comes once the message is written to
  the queue's Raft log and that log is fsynced on a quorum of members (here the one node);
  messages are published persistent (`delivery_mode` 2). Acknowledged messages survive power
  loss. Consumer acks are not confirmed to the client (AMQP has no ack of an ack).
- **moto**: an in-memory emulator; nothing is written to disk and everything is gone when the
  process stops. It is here as the emulator people use in tests, not as a durable peer.
- **null server**: stores nothing; it shows what the harness and the HTTP path cost on this
  machine, the ceiling any SQS endpoint measured here can approach.
"""


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt_rate(value):
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def fmt_latency(us):
    if us is None:
        return "—"
    if us >= 1_000_000:
        return f"{us / 1_000_000:.2f} s"
    if us >= 1_000:
        return f"{us / 1_000:.1f} ms"
    return f"{us:.0f} µs"


def fmt_ratio(tern, peer):
    if not tern or not peer:
        return "—"
    ratio = tern / peer
    if ratio >= 100:
        return f"{ratio:,.0f}×"
    if ratio >= 10:
        return f"{ratio:.1f}×"
    return f"{ratio:.2f}×"


def load(path):
    runs = {}
    for line in Path(path).read_text().splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        runs.setdefault((record["workload"], record["label"]), []).append(record)
    return runs


def summary(records):
    ok = [r for r in records if not r.get("failed")]
    failed = len(records) - len(ok)
    if not ok:
        return None, failed
    pick = lambda key: [r.get(key) for r in ok]  # noqa: E731
    total = lambda key: sum(r.get(key) or 0 for r in ok)  # noqa: E731
    return {
        "runs": len(ok),
        "sent": median(pick("msgs_per_s")),
        "sent_all": pick("msgs_per_s"),
        "received": median(pick("received_per_s")),
        "received_all": pick("received_per_s"),
        "p50": median(pick("latency_p50_us")),
        "p99": median(pick("latency_p99_us")),
        "p999": median(pick("latency_p999_us")),
        "lost": total("lost"),
        "duplicates": total("duplicates"),
        "out_of_order": total("out_of_order"),
        "send_errors": total("send_errors"),
        "other_errors": total("receive_errors") + total("delete_errors"),
        "rate": median(pick("rate")),
        "behind_ms": max((r.get("behind_ms") or 0) for r in ok),
        "fifo": any(r.get("fifo") for r in ok),
        "duration": median(pick("duration_s")),
    }, failed


def spread(values):
    values = [v for v in values if v is not None]
    if len(values) < 2:
        return ""
    return " (" + ", ".join(fmt_rate(v) for v in values) + ")"


def results_section(runs, args):
    out = []
    versions = Path(args.versions).read_text().strip().splitlines()
    out.append("## Side by side\n")
    out.append(
        f"Medians of {args.reps} interleaved repetitions (every target in turn, then again: "
        f"A B C A B C …) of {args.duration} s per run; moto, about a thousand times slower than "
        f"the others, gets {args.moto_duration} s runs. Client and server share the machine's two "
        "cores, so every figure is a floor for the server. Loadgen runs on one thread "
        "(`--threads 1`) for every target. Values in parentheses are the individual runs.\n"
    )
    out.append("One command produced everything in this section (it builds, starts Tern on a "
               "temporary data directory, the null server and moto, checks NATS and RabbitMQ, "
               "runs every workload against every target, and rewrites this file):\n")
    out.append(f"```\n{args.command}\n```\n")
    out.append("Versions and machine:\n")
    out.append("\n".join(f"- {line}" for line in versions) + "\n")
    if args.note:
        out.append(f"Note on this run: {args.note}\n")

    # Ratios first: the summary a reader wants.
    out.append("### Tern ÷ peer\n")
    out.append(
        "Throughput ratios of the medians (received msg/s for end-to-end workloads, sent msg/s "
        "for send-only ones; above 1 means Tern is faster). For the paced workload the ratio is "
        "of p99 latency (below 1 means Tern's is lower).\n"
    )
    out.append("| workload | " + " | ".join(TARGETS[p] for p in PEERS) + " |")
    out.append("| --- |" + " --- |" * len(PEERS))
    for workload, _ in WORKLOADS:
        tern, _ = summary(runs.get((workload, "tern"), []))
        if tern is None:
            continue
        row = [f"`{workload}`"]
        for peer in PEERS:
            other, _ = summary(runs.get((workload, peer), []))
            if other is None:
                row.append("—")
            elif workload.startswith("paced"):
                row.append(fmt_ratio(tern["p99"], other["p99"]) + " (p99)")
            elif workload.startswith("send"):
                row.append(fmt_ratio(tern["sent"], other["sent"]))
            else:
                row.append(fmt_ratio(tern["received"], other["received"]))
        out.append("| " + " | ".join(row) + " |")
    out.append("")

    faults = []
    for workload, title in WORKLOADS:
        present = [t for t in TARGETS if (workload, t) in runs]
        if not present:
            continue
        out.append(f"### `{workload}`\n")
        out.append(title + ".\n")
        tern, _ = summary(runs.get((workload, "tern"), []))
        if workload.startswith("send"):
            out.append("| target | sent, msg/s | Tern ÷ target | errors |")
            out.append("| --- | --- | --- | --- |")
        else:
            out.append(
                "| target | rate asked, msg/s | sent, msg/s | received, msg/s | latency p50 / p99 / p99.9 "
                "| lost / dup / out of order | errors | Tern ÷ target |"
                if workload.startswith("paced") else
                "| target | sent, msg/s | received, msg/s | latency p50 / p99 / p99.9 "
                "| lost / dup / out of order | errors | Tern ÷ target |"
            )
            out.append("| --- " * (8 if workload.startswith("paced") else 7) + "|")
        for target in present:
            s, failed = summary(runs[(workload, target)])
            name = TARGETS[target]
            if s is None:
                out.append(f"| {name} | failed ({failed} runs) |")
                faults.append(f"`{workload}` on {name}: every run failed")
                continue
            errors = s["send_errors"] + s["other_errors"]
            if failed:
                faults.append(f"`{workload}` on {name}: {failed} of {failed + s['runs']} runs failed")
            if errors:
                faults.append(f"`{workload}` on {name}: {s['send_errors']} send errors, "
                              f"{s['other_errors']} receive/delete errors over {s['runs']} runs")
            if s["lost"] or s["duplicates"]:
                faults.append(f"`{workload}` on {name}: {s['lost']} lost, {s['duplicates']} duplicated "
                              f"over {s['runs']} runs")
            if s["fifo"] and s["out_of_order"]:
                faults.append(f"`{workload}` on {name}: {s['out_of_order']} messages out of order "
                              "within their group (a FIFO fault)")
            errors_text = str(errors) + (f", {failed} runs failed" if failed else "")
            if workload.startswith("send"):
                ratio = "—" if target == "tern" else fmt_ratio(tern and tern["sent"], s["sent"])
                out.append(f"| {name} | {fmt_rate(s['sent'])}{spread(s['sent_all'])} | {ratio} | {errors_text} |")
                continue
            latency = f"{fmt_latency(s['p50'])} / {fmt_latency(s['p99'])} / {fmt_latency(s['p999'])}"
            counts = f"{s['lost']} / {s['duplicates']} / {s['out_of_order']}"
            if workload.startswith("paced"):
                ratio = "—" if target == "tern" else fmt_ratio(tern and tern["p99"], s["p99"]) + " (p99)"
                behind = f" (late by up to {s['behind_ms']:.0f} ms)" if s["behind_ms"] >= 100 else ""
                out.append(
                    f"| {name} | {fmt_rate(s['rate'])}{behind} | {fmt_rate(s['sent'])} | "
                    f"{fmt_rate(s['received'])} | {latency} | {counts} | {errors_text} | {ratio} |"
                )
            else:
                ratio = "—" if target == "tern" else fmt_ratio(tern and tern["received"], s["received"])
                out.append(
                    f"| {name} | {fmt_rate(s['sent'])}{spread(s['sent_all'])} | "
                    f"{fmt_rate(s['received'])}{spread(s['received_all'])} | {latency} | {counts} | "
                    f"{errors_text} | {ratio} |"
                )
        out.append("")

    out.append("### How to read them\n")
    out.append(
        "- Lost, duplicated and out-of-order counts are totals over the repetitions. Out of order "
        "in a standard queue is a measure (several consumers race; none of these targets promises "
        "an order there); in the FIFO workload it is counted within each group and is a fault.\n"
        "- In the unpaced end-to-end workload the producers may outrun the consumers: a backlog "
        "then grows for the whole run and latency is mostly time spent in it (saturation, not the "
        "delay of a lightly loaded queue). The paced workload shows latency at half of each "
        "target's own end-to-end rate, measured from the scheduled send time.\n"
        "- The machine is shared: the spread of the repetitions (in parentheses) shows how much "
        "the figures moved while they were taken; compare targets within a repetition rather "
        "than across runs taken at different times. The load average before and after the run "
        "is listed with the versions.\n"
        "- FIFO on NATS and RabbitMQ is partitioned (one stream subject or quorum queue per "
        "consumer, every group pinned to one): the order guarantee is the same per group, but "
        "a slow message holds up its whole partition rather than only its group.\n"
    )
    if faults:
        out.append("Faults and errors seen in this run:\n")
        out.extend(f"- {fault}" for fault in faults)
        out.append("")
    else:
        out.append("No run saw an error, a lost or duplicated message, or a FIFO order fault.\n")

    out.append("### What each target guarantees\n")
    out.append(DURABILITY)
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True)
    parser.add_argument("--versions", required=True)
    parser.add_argument("--command", required=True)
    parser.add_argument("--duration", required=True)
    parser.add_argument("--moto-duration", required=True)
    parser.add_argument("--reps", required=True)
    parser.add_argument("--note", default="", help="a paragraph about this run (e.g. noise)")
    parser.add_argument("--template", default=str(Path(__file__).with_name("benchmarks.md.in")))
    args = parser.parse_args()
    template = Path(args.template).read_text()
    section = results_section(load(args.results), args)
    print(template.replace("{{RESULTS}}", section), end="")


if __name__ == "__main__":
    main()
