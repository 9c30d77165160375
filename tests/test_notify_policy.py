"""The on-call file, the rota and the notification policy (pure: no database, no network)."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import yaml

from notify.config import DEMO_ONCALL, EmailChannel, OncallConfig, OncallFileError, WebhookChannel, load_oncall
from notify.messages import Labels, render
from notify.policy import Activation, AlarmState, Notifier, Outgoing, SentRecord, on_call
from plant.loader import load_plant
from tests.conftest import ROOT

TZ = ZoneInfo("Asia/Shanghai")
MIN = 60_000


def local_ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=TZ).timestamp() * 1000)  # type: ignore[misc]


MONDAY_10 = local_ms(2027, 1, 11, 10, 0)


def make_config(**policy: Any) -> OncallConfig:
    base_policy: dict[str, Any] = {
        "priorities": ["urgent", "high"],
        "escalate_after_min": {"urgent": 5, "high": 15},
        "dedup_min": 10,
        "flood": {"threshold": 5, "window_min": 10, "digest_every_min": 5},
    }
    base_policy.update(policy)
    return OncallConfig.model_validate(
        {
            "channels": [{"id": "log", "type": "log"}],
            "people": [
                {"id": "ann", "name": "Ann", "lang": "en", "channels": ["log"]},
                {"id": "bo", "name": "薄波", "lang": "zh", "channels": ["log"]},
                {"id": "cy", "name": "Cy", "channels": ["log"]},
            ],
            "rota": [{"id": "always", "chain": ["ann", "bo", "cy"]}],
            "policy": base_policy,
        }
    )


class Sim:
    """Alarm states and journal activations fed to a Notifier step by step, as the service does."""

    def __init__(self, config: OncallConfig | None = None, notifier: Notifier | None = None) -> None:
        self.config = config or make_config()
        self.notifier = notifier or Notifier(self.config, TZ)
        self.states: dict[str, AlarmState] = {}
        self.pending: list[Activation] = []
        self.sent: list[tuple[int, Outgoing]] = []
        self.journal_id = 0

    def activate(self, alarm_id: str, ts: int, priority: str = "urgent", area: str = "smelting", **kw: Any) -> None:
        """The engine's view: the alarm's row (a new activation clears the acknowledgement) and a journal row."""
        self.journal_id += 1
        self.states[alarm_id] = AlarmState(
            alarm_id, priority, True, False, activated_at=ts, area=area, source=alarm_id.split(":")[0], **kw
        )
        value = kw.get("value", 1.0)
        self.pending.append(Activation(self.journal_id, alarm_id, ts, priority, "process", area, None, value))

    def ack(self, alarm_id: str, ts: int) -> None:
        self.journal_id += 1
        s = self.states[alarm_id]
        self.states[alarm_id] = AlarmState(**{**s.__dict__, "acked": True, "acked_at": ts})
        self.pending.append(Activation(self.journal_id, alarm_id, ts, s.priority, kind="ack"))

    def step(self, now: int) -> list[Outgoing]:
        acts, self.pending = self.pending, []
        self.notifier.observe(acts, self.states, now)
        out = self.notifier.plan(now, self.states)
        for message in out:
            self.notifier.mark_sent(message, now)
            self.sent.append((now, message))
        return out

    def records(self) -> list[SentRecord]:
        return [SentRecord(ts, m.kind, m.level, tuple(m.alarm_ids)) for ts, m in self.sent]


# -- the on-call file -----------------------------------------------------------------------------------------
def test_demo_file_is_valid_and_reaches_nothing_outside_this_machine() -> None:
    config = load_oncall(DEMO_ONCALL)
    assert DEMO_ONCALL == ROOT / "plant" / "oncall_demo.yaml"
    assert [c.id for c in config.channels if c.enabled] == ["demo-log"]
    for channel in config.channels:
        if isinstance(channel, WebhookChannel):
            assert urlsplit(channel.url.get_secret_value()).hostname in ("127.0.0.1", "localhost")
        if isinstance(channel, EmailChannel):
            assert channel.host == "localhost"
    assert {config.lang_of(p) for p in config.people} == {"en", "zh"}
    from settings import Settings

    assert Settings().oncall_file == DEMO_ONCALL


def _write(tmp_path: Path, doc: dict[str, Any] | str) -> Path:
    path = tmp_path / "oncall.yaml"
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def _valid() -> dict[str, Any]:
    return {
        "channels": [
            {"id": "mail", "type": "email", "host": "localhost", "sender": "sw@localhost"},
            {"id": "ding", "type": "dingtalk", "url": "http://127.0.0.1:9/robot/send?access_token=t0ken-SECRET"},
        ],
        "people": [{"id": "li", "name": "李", "email": "li@localhost", "mobile": "13800000001", "channels": ["mail"]}],
        "rota": [{"id": "day", "start": "08:00", "end": "20:00", "chain": ["li"]}],
    }


def _edit(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    node: Any = doc
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("channels.0.hots", "x", "channels[0] (mail).hots: unknown key 'hots'; did you mean 'host'?"),
        (
            "people.0.channels",
            ["mail", "dingg"],
            "people[0] (li).channels: unknown channel 'dingg'; did you mean 'ding'?",
        ),
        ("rota.0.chain", ["li", "wnag"], "rota[0] (day).chain: unknown person 'wnag'"),
        ("rota.0.start", 960, "rota[0] (day).start: must be a quoted time such as '08:00' (an unquoted 16:00 reads"),
        ("channels.1.url", "file:///etc/passwd", "channels[1] (ding).url: must be an http:// or https:// URL"),
        ("channels.1.secret_env", "SW_NOT_SET_ANYWHERE", "environment variable SW_NOT_SET_ANYWHERE is not set"),
        ("channels.0.type", "fax", "channels[0] (mail): type must be one of: email, webhook, dingtalk, wecom, log"),
        ("people.0.email", None, "people[0] (li).email: channel 'mail' is e-mail but the person has no email"),
        ("people.0.mobile", "call me", "people[0] (li).mobile: not a phone number"),
        ("policy", {"escalate_after_min": {"low": 30}}, "escalate_after_min names low, which is not in priorities"),
        (
            "policy",
            {"flood": {"treshold": 3}},
            "policy.flood.treshold: unknown key 'treshold'; did you mean 'threshold'?",
        ),
        ("timezone", "Mars/Olympus", "timezone: unknown time zone 'Mars/Olympus'"),
    ],
)
def test_errors_name_the_file_and_the_entry(tmp_path: Path, path: str, value: Any, expected: str) -> None:
    file = _write(tmp_path, _edit(_valid(), path, value))
    with pytest.raises(OncallFileError) as err:
        load_oncall(file)
    assert str(file) in str(err.value)
    assert expected in str(err.value), str(err.value)
    assert "t0ken-SECRET" not in str(err.value)  # secrets are never echoed


def test_more_file_errors(tmp_path: Path) -> None:
    login = _edit(_valid(), "channels.0", {**_valid()["channels"][0], "host": "mail.example.com", "username": "u"})
    login["channels"][0]["password"] = "pw"
    problems = {
        "login": (login, "login over an unencrypted connection: set security to starttls or ssl"),
        "yaml": ("channels:\n  - id: x\n    id: y\n", "found the key 'id' twice"),
        "syntax": ("channels: [unclosed\n", "not valid YAML at line"),
        "top": ("- a list\n", "(top level): must be a mapping"),
    }
    for name, (doc, expected) in problems.items():
        with pytest.raises(OncallFileError, match=None) as err:
            load_oncall(_write(tmp_path, doc))
        assert expected in str(err.value), (name, str(err.value))
    with pytest.raises(OncallFileError, match="file not found"):
        load_oncall(tmp_path / "missing.yaml")
    ok = load_oncall(_write(tmp_path, _valid()))
    assert ok.channels[1].type == "dingtalk" and "t0ken-SECRET" not in repr(ok)


# -- the rota ------------------------------------------------------------------------------------------------
def test_rota_by_weekday_and_time_in_the_plant_zone() -> None:
    config = load_oncall(DEMO_ONCALL)
    tz = config.tz("Asia/Shanghai")

    def who(*when: int) -> tuple[str | None, list[str]]:
        entry, chain = on_call(config, tz, local_ms(*when))
        return entry, [p.id for p in chain]

    assert who(2027, 1, 11, 10, 0) == ("weekday-day", ["wang.lei", "zhao.min", "liu.yang"])  # Monday
    assert who(2027, 1, 11, 7, 59)[0] == "weekend"  # Sunday's 24 hours from 08:00 run into Monday morning
    assert who(2027, 1, 11, 8, 0)[0] == "weekday-day"
    assert who(2027, 1, 11, 20, 0)[0] == "weekday-night"
    assert who(2027, 1, 12, 3, 0)[0] == "weekday-night"  # Monday's night, after midnight
    assert who(2027, 1, 16, 3, 0)[0] == "weekday-night"  # Friday's night runs into Saturday morning
    assert who(2027, 1, 16, 8, 0) == ("weekend", ["chen.jing", "zhao.min", "liu.yang"])
    # The same instant is another local time elsewhere: the rota follows the configured zone.
    utc_config = config.model_copy(update={"timezone": "UTC"})
    assert on_call(utc_config, utc_config.tz("Asia/Shanghai"), local_ms(2027, 1, 12, 10, 0))[0] == "weekday-night"


def test_overrides_come_first_and_gaps_have_nobody(tmp_path: Path) -> None:
    doc = _valid()
    doc["people"].append({"id": "wu", "name": "Wu", "email": "wu@localhost", "channels": ["mail"]})
    doc["overrides"] = [{"id": "holiday", "start": "2027-01-11 09:00", "end": "2027-01-11 12:00", "chain": ["wu"]}]
    config = load_oncall(_write(tmp_path, doc))
    assert on_call(config, TZ, local_ms(2027, 1, 11, 8, 30))[0] == "day"
    assert on_call(config, TZ, local_ms(2027, 1, 11, 9, 0))[0] == "holiday"
    assert on_call(config, TZ, local_ms(2027, 1, 11, 12, 0))[0] == "day"
    assert on_call(config, TZ, local_ms(2027, 1, 11, 21, 0)) == (None, [])

    notifier = Notifier(config, TZ)
    sim = Sim(config, notifier)
    sim.activate("X:HH", local_ms(2027, 1, 11, 21, 0))
    [message] = sim.step(local_ms(2027, 1, 11, 21, 0))
    assert message.person is None and message.kind == "alarm"  # recorded as failed by the service, not lost


# -- de-duplication and filters ----------------------------------------------------------------------------------
def test_one_message_per_activation() -> None:
    sim = Sim()
    t0 = MONDAY_10
    sim.activate("FSF.T101:HH", t0)
    [message] = sim.step(t0)
    assert (message.kind, message.level, message.person and message.person.id) == ("alarm", 0, "ann")
    assert message.alarm_ids == ["FSF.T101:HH"] and message.rota_entry == "always"
    # The same journal row read again (a restart's catch-up) sends nothing.
    sim.pending.append(Activation(1, "FSF.T101:HH", t0, "urgent"))
    assert sim.step(t0 + 2000) == []
    # Chattering without acknowledgement: back three times in the next minutes, told once.
    for k in range(1, 4):
        sim.activate("FSF.T101:HH", t0 + k * MIN)
        assert sim.step(t0 + k * MIN) == []
    # Acknowledged, then active again: a new activation, a new message.
    sim.ack("FSF.T101:HH", t0 + 4 * MIN)
    sim.activate("FSF.T101:HH", t0 + 5 * MIN)
    [again] = sim.step(t0 + 5 * MIN)
    assert again.kind == "alarm" and again.alarms[0].ts == t0 + 5 * MIN
    # Unacknowledged but after the de-duplication time: told again.
    sim.activate("FSF.T101:HH", t0 + 16 * MIN)
    assert [m.kind for m in sim.step(t0 + 16 * MIN)] == ["alarm"]


def test_priorities_shelving_suppression_and_early_ack() -> None:
    sim = Sim()
    t0 = MONDAY_10
    sim.activate("A:L", t0, priority="low")
    sim.activate("B:M", t0, priority="medium")
    sim.activate("C:HH", t0, shelved_until=t0 + 60 * MIN)
    sim.activate("D:HH", t0, suppressed=True)
    sim.activate("E:HH", t0, out_of_service=True)
    sim.activate("F:HH", t0, priority="high")
    sim.ack("F:HH", t0 + 500)  # acknowledged in the control room before the notifier's step
    sim.activate("G:HH", t0, shelved_until=t0 - 1)  # the shelf expired
    assert [m.alarm_ids for m in sim.step(t0 + 1000)] == [["G:HH"]]


# -- escalation ---------------------------------------------------------------------------------------------------
def test_escalation_follows_the_chain_until_acknowledged() -> None:
    sim = Sim()
    t0 = MONDAY_10
    sim.activate("U:HH", t0)  # urgent: 5 min per level
    sim.activate("H:HH", t0, priority="high")  # high: 15 min per level
    assert {m.alarm_ids[0]: m.person.id for m in sim.step(t0) if m.person} == {"U:HH": "ann", "H:HH": "ann"}
    assert sim.step(t0 + 5 * MIN - 1) == []
    [up] = sim.step(t0 + 5 * MIN)
    assert (up.kind, up.level, up.person and up.person.id, up.previous and up.previous.id) == (
        "escalation",
        1,
        "bo",
        "ann",
    )
    assert up.alarm_ids == ["U:HH"]
    [up2] = sim.step(t0 + 10 * MIN)
    assert (up2.level, up2.person and up2.person.id) == (2, "cy")
    assert sim.step(t0 + 14 * MIN) == []  # the chain has no fourth person
    [high] = sim.step(t0 + 15 * MIN)
    assert (high.alarm_ids, high.level, high.person and high.person.id) == (["H:HH"], 1, "bo")
    sim.ack("H:HH", t0 + 20 * MIN)
    assert sim.step(t0 + 30 * MIN) == [] and sim.step(t0 + 60 * MIN) == []  # acknowledged: no level 2
    # Shelved while unacknowledged: no escalation while on the shelf.
    sim.activate("S:HH", t0 + 61 * MIN)
    assert len(sim.step(t0 + 61 * MIN)) == 1
    st = sim.states["S:HH"]
    sim.states["S:HH"] = AlarmState(**{**st.__dict__, "shelved_until": t0 + 90 * MIN})
    assert sim.step(t0 + 70 * MIN) == []
    [late] = sim.step(t0 + 90 * MIN)
    assert late.level == 1 and late.alarm_ids == ["S:HH"]


# -- floods ------------------------------------------------------------------------------------------------------
def test_a_storm_of_200_alarms_sends_a_few_digests() -> None:
    sim = Sim(make_config(escalate_after_min={"urgent": 30}))
    t0 = MONDAY_10
    areas = ["smelting", "converting", "acid"]
    arrivals = {t0 + i * 3000: i for i in range(200)}  # 200 alarms in 10 minutes, every 2 s a step
    for now in range(t0, t0 + 12 * MIN, 2000):
        for ts in [ts for ts in arrivals if now - 2000 < ts <= now]:
            i = arrivals[ts]
            sim.activate(f"T{i % 40:02d}.PV:{i}", ts, "urgent" if i % 4 == 0 else "high", areas[i % 3])
        sim.step(now)
    kinds = [m.kind for _, m in sim.sent]
    assert kinds.count("alarm") == 5  # up to the threshold, each alarm on its own
    assert 2 <= kinds.count("digest") <= 4 and len(kinds) <= 9, kinds
    digests = [m for _, m in sim.sent if m.kind == "digest"]
    assert sum(m.digest.count for m in digests if m.digest) == 195
    assert len({a for m in digests for a in m.alarm_ids}) == 195
    first = digests[0]
    assert first.person and first.person.id == "ann" and first.level == 0
    big = max(digests, key=lambda m: m.digest.count if m.digest else 0)
    assert big.digest and dict(big.digest.by_priority).keys() == {"urgent", "high"}
    assert sum(n for _, n in big.digest.by_area) == big.digest.count
    # Digests keep their cadence: never two within 5 minutes.
    times = [ts for ts, m in sim.sent if m.kind == "digest"]
    assert all(b - a >= 5 * MIN for a, b in itertools.pairwise(times))
    # The flood passes: a single alarm is a single message again.
    sim.activate("LATE:HH", t0 + 25 * MIN)
    assert [m.kind for m in sim.step(t0 + 25 * MIN)] == ["alarm"]


def test_escalations_during_a_flood_come_as_a_digest() -> None:
    sim = Sim()
    t0 = MONDAY_10
    for i in range(30):
        sim.activate(f"F{i}:HH", t0 + i * 1000)
    sim.step(t0 + 30_000)
    assert [m.kind for _, m in sim.sent] == ["digest"]  # 30 waiting at once: straight to a digest
    out = sim.step(t0 + 30_000 + 5 * MIN)
    assert [(m.kind, m.level, m.person and m.person.id) for m in out] == [("digest", 1, "bo")]
    assert out[0].digest and out[0].digest.count == 30


# -- restart -----------------------------------------------------------------------------------------------------
def test_restore_from_sent_messages_sends_nothing_twice() -> None:
    sim = Sim()
    t0 = MONDAY_10
    sim.activate("R:HH", t0)
    sim.activate("Q:HH", t0, priority="high")
    sim.step(t0)
    sim.step(t0 + 5 * MIN)  # R escalated to level 1
    assert [(m.alarm_ids, m.level) for _, m in sim.sent] == [(["Q:HH"], 0), (["R:HH"], 0), (["R:HH"], 1)]

    fresh = Notifier(sim.config, TZ)
    fresh.restore(sim.records(), t0 + 6 * MIN)
    again = Sim(sim.config, fresh)
    again.states = dict(sim.states)
    for alarm_id in ("R:HH", "Q:HH"):  # the catch-up reads the journal again
        again.pending.append(Activation(1, alarm_id, t0, sim.states[alarm_id].priority))
    assert again.step(t0 + 6 * MIN) == []
    [nxt] = again.step(t0 + 10 * MIN)  # level 2 of R, not level 0 or 1 again
    assert (nxt.alarm_ids, nxt.level, nxt.person and nxt.person.id) == (["R:HH"], 2, "cy")
    [q] = again.step(t0 + 15 * MIN)
    assert (q.alarm_ids, q.level) == (["Q:HH"], 1)


def test_restore_keeps_the_flood_and_digest_cadence() -> None:
    sim = Sim()
    t0 = MONDAY_10
    for i in range(20):
        sim.activate(f"F{i}:HH", t0 + i * 1000, priority="high")
        sim.step(t0 + i * 1000)
    assert [m.kind for _, m in sim.sent].count("digest") == 1
    fresh = Notifier(sim.config, TZ)
    fresh.restore(sim.records(), t0 + 60_000)
    again = Sim(sim.config, fresh)
    again.states = dict(sim.states)
    again.activate("NEW:HH", t0 + 60_000)
    assert again.step(t0 + 60_000) == []  # still a flood, and the last digest went a minute ago
    [digest] = again.step(t0 + 15_000 + 5 * MIN)
    assert digest.kind == "digest" and digest.alarm_ids == ["NEW:HH"]


# -- texts -------------------------------------------------------------------------------------------------------
def test_texts_in_both_languages_and_hostile_labels_stay_inert() -> None:
    plant = load_plant(ROOT / "tests" / "fixtures" / "mini_plant.yaml")
    labels = Labels.from_plant(plant)
    sim = Sim()
    t0 = MONDAY_10
    hostile = "<img src=x onerror=alert(1)>\n[phish](http://evil.example) `code` # title"
    sim.activate("FSF.T101:HH", t0, message=hostile, value=1350.25, limit=1300.0, condition="HH")
    [single] = sim.step(t0)
    en = render(single, "en", labels, TZ, app_url="http://127.0.0.1:8050")
    zh = render(single, "zh", labels, TZ, app_url="http://127.0.0.1:8050")
    assert en.subject == "Urgent alarm: FSF.T101 HH - Smelting" and zh.subject == "紧急报警：FSF.T101 HH - 熔炼"
    assert "Value: 1350.25 (limit 1300)" in en.text and "数值：1350.25（限值 1300）" in zh.text
    assert "Active since: 2027-01-11 10:00:00" in en.text  # plant local time
    assert "Acknowledge at http://127.0.0.1:8050/alarms" in en.text and "SmeltWatch - 小型冶炼厂" in zh.text
    assert "<img src=x onerror=alert(1)> [phish](http://evil.example) `code` # title" in en.text  # one line
    assert "<img" not in en.markdown and "&lt;img" in en.markdown and "\\[phish\\]" in en.markdown
    assert "\\`code\\`" in en.markdown and "\\# title" in en.markdown

    for i in range(12):
        sim.activate(f"T{i}:HH", t0 + MIN, "high" if i % 3 else "urgent", "acid" if i % 2 else "smelting")
    [digest] = sim.step(t0 + MIN)
    en = render(digest, "en", labels, TZ)
    zh = render(digest, "zh", labels, TZ)
    assert en.subject == "Alarm flood: 12 new since 2027-01-11 10:01:00, 13 in 10 min"
    assert zh.subject == "报警泛滥：2027-01-11 10:01:00 起新增 12 条，10 分钟内共 13 条"
    assert "By priority: Urgent 4, High 8" in en.text and "By area: Acid plant 6, Smelting 6" in en.text
    assert "按优先级：紧急 4、高 8" in zh.text and "按区域：制酸 6、熔炼 6" in zh.text
    assert "Urgent: T0:HH, T3:HH, T6:HH, T9:HH" in en.text


def test_a_hazard_source_alarm_also_goes_to_its_responsible_people() -> None:
    # a major hazard source's leads named as on-call users get the level-0 message too (the primary once);
    # unknown users and badge-only leads are not on-call people and get nothing; escalation stays on the chain
    sim = Sim()
    t0 = MONDAY_10
    leads = [
        {"role": "main", "user": "cy"},
        {"role": "technical", "user": "ann"},
        {"role": "operation", "badge": "P0001"},
        {"role": "operation", "user": "nobody"},
    ]
    data = {"hazard_source": "HS-ACID-TANKS", "responsible": leads}
    sim.activate("AP-TK6.LEVEL:HZH", t0, priority="high", source_type="hazard", data=data)
    out = sim.step(t0)
    assert [(m.kind, m.level, m.person and m.person.id) for m in out] == [("alarm", 0, "ann"), ("alarm", 0, "cy")]
    assert sim.step(t0 + 15 * MIN)[0].person.id == "bo"  # type: ignore[union-attr]
    sim.activate("FSF.T101:HH", t0 + 16 * MIN)  # an alarm without responsible people: the chain only
    assert [m.person and m.person.id for m in sim.step(t0 + 16 * MIN)] == ["ann"]
