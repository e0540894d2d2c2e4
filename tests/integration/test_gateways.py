"""Gateways as plugins (plugins/API.md, "Gateways"): the gateway a channel's
provider names is loaded without being listed and selected (also across a
reload), an unknown provider or a bad gateway setting stops the start naming
the key, a third-party gateway listed in `plugins` with its own table gets
exactly the contract's message, and the OVHcloud gateway (plugins/sms-ovh)
works end to end against the simulator, which checks its signatures."""
import os
import re
import signal
import time

from gateway_sim import GSM_BASIC, GSM_EXT, sms_segments
from notify_util import (run, with_config, person, session, enroll, one, notifs, wait_status,
                         wait_until, without_start, start_refused)

DAY = 86400
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugins")


def base(r):
    return "http://127.0.0.1:%d" % r.port


def idem_key(r, notification_id):
    return r.db("SELECT idem_key FROM notifications WHERE id = ?", notification_id)[0][0]


def check_gsm_text(body):
    bad = sorted({c for c in body if c not in GSM_BASIC and c not in GSM_EXT})
    assert not bad, "characters outside GSM-7: %r in %r" % (bad, body)
    segments, ucs2, _ = sms_segments(body)
    assert not ucs2 and 1 <= segments <= 2, (segments, body)
    return segments


def loaded(r, plugin):
    return "plugin %s: loaded (" % plugin in r.read_log()


def ovh_table(sim, more=""):
    return ('sms_ovh = {url = "%s", application_key = "%s", application_secret = "%s", '
            'consumer_key = "%s", service_name = "%s", sender = "RELAIS"%s}\n'
            % (sim.url, sim.ovh_app_key, sim.ovh_app_secret, sim.ovh_consumer_key,
               sim.ovh_service, more))


def acme_config(sim, mode="send"):
    return ('plugins_dir = "%s"\nplugins = {"sms", "email", "acme"}\n'
            'sms = {provider = "acme"}\n'
            'acme = {url = "%s", token = "%s", mode = "%s"}\n'
            % (FIXTURES, sim.url, sim.acme_token, mode))


# --- selection -----------------------------------------------------------------------
@with_config(lambda sim: 'sms = {provider = "console"}\nemail = {provider = "console"}\n')
def test_console_gateways_load_unlisted(r, sim):
    """plugins = {"sms", "email"}: the console gateways they name load too."""
    assert loaded(r, "sms-console") and loaded(r, "email-console"), r.read_log()
    e = enroll(r, session(r, 3 * DAY)["id"], person(r)["id"])
    n = wait_status(r, e["id"], "confirmation", "sent")
    assert n["provider_id"] == "console-%d" % n["id"], n
    assert not loaded(r, "sms-twilio") and sim.requests == []


@with_config(lambda sim: 'plugins = {"sms", "email", "sms-brevo"}\n'
                         'sms_brevo = {url = "%s", api_key = "%s", sender = "RELAIS"}\n'
                         % (sim.url, sim.brevo_key))
def test_provider_selects_among_loaded_gateways(r, sim):
    """Brevo is listed and loaded, Twilio is named: Twilio sends. The config
    switched to Brevo and reloaded (SIGHUP): Brevo sends."""
    assert loaded(r, "sms-brevo") and loaded(r, "sms-twilio"), r.read_log()
    s = session(r, 3 * DAY)
    e1 = enroll(r, s["id"], person(r)["id"])
    wait_status(r, e1["id"], "confirmation", "sent")
    assert [m["provider"] for m in sim.messages] == ["twilio"], sim.messages
    with open(r.config, "a") as f:
        f.write('sms = {provider = "brevo"}\n')
    reloads = r.read_log().count("main: reloaded")
    r.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: r.read_log().count("main: reloaded") > reloads, 10, "the reload")
    wait_until(lambda: r.read_log().count("plugin sms-brevo: loaded (") == 2, 10,
               "brevo reloaded")
    e2 = enroll(r, s["id"], person(r)["id"])
    wait_status(r, e2["id"], "confirmation", "sent")
    assert [m["provider"] for m in sim.messages] == ["twilio", "brevo"], sim.messages
    # Twilio, no longer named, is no longer loaded: its webhooks are gone.
    st, _, _ = r.req("POST", "/hooks/sms/twilio/status", token=None, raw="MessageSid=SM1",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert st == 404, st


# --- mistakes in the config stop the start -----------------------------------------------
@with_config(lambda sim: 'sms = {provider = "nope"}\n')
@without_start
def test_unknown_sms_provider_stops_the_start(r, sim):
    log = start_refused(r)
    assert "not started: sms.provider: no gateway named 'nope'" in log, log[-2000:]


@with_config(lambda sim: 'email = {provider = "carrier-pigeon"}\n')
@without_start
def test_unknown_email_provider_stops_the_start(r, sim):
    log = start_refused(r)
    assert "not started: email.provider: no gateway named 'carrier-pigeon'" in log, log[-2000:]


@with_config(lambda sim: 'sms = {provider = "ovh"}\n' + ovh_table(sim, ", sender = 12"))
@without_start
def test_bad_key_in_a_gateway_table_stops_the_start(r, sim):
    log = start_refused(r)
    # The table as the config file spells it, and the key.
    assert "not started: sms_ovh.sender: must be a string" in log, log[-2000:]


@with_config(lambda sim: 'sms = {provider = "twilio", url = "%s", account_sid = "AC1", '
                         'auth_token = "x", from = "RELAIS", form = "typo"}\n' % sim.url)
@without_start
def test_unknown_key_beside_provider_stops_the_start(r, sim):
    log = start_refused(r)
    assert "not started: sms.form: unknown key (the keys are: account_sid, auth_token, from, " \
        "messaging_service_sid, timeout, url)" in log, log[-2000:]


@with_config(lambda sim: 'sms = {provider = "ovh"}\n' + ovh_table(sim) +
             'sms_brevo = {api_key = "k"}\n')
@without_start
def test_table_of_a_gateway_neither_listed_nor_named(r, sim):
    """Refused by the core as it reads the file, by every command."""
    rc, _, err = r.cli("migrate", check=False)
    assert rc == 1 and "unknown key 'sms_brevo'" in err, (rc, err)


# --- a third party's gateway ---------------------------------------------------------------
@with_config(acme_config)
def test_third_party_gateway_gets_the_contracts_message(r, sim):
    assert loaded(r, "acme") and not loaded(r, "sms-twilio"), r.read_log()
    p = person(r, first="Noémie")
    e = enroll(r, session(r, 3 * DAY)["id"], p["id"])
    n = wait_status(r, e["id"], "confirmation", "sent")
    assert len(sim.messages) == 1, sim.messages
    got = sim.messages[0]["json"]
    assert sorted(got) == ["id", "idempotency_key", "kind", "segments", "text", "to"], got
    assert got["id"] == n["id"] and got["kind"] == "confirmation", got
    assert got["to"] == p["phone"], got
    assert got["idempotency_key"] == idem_key(r, n["id"]), got
    assert got["segments"] == check_gsm_text(got["text"]), got
    assert "/r/" in got["text"] and "Smartphone" in got["text"], got
    # Its result had no segments: the core's count is recorded.
    assert n["provider_id"] == sim.messages[0]["sid"] and n["segments"] == got["segments"], n
    # A refusal that quotes the number: recorded with the number masked.
    bad = person(r)
    sim.invalid_numbers.add(bad["phone"])
    f = wait_status(r, enroll(r, session(r, 4 * DAY)["id"], bad["id"])["id"], "confirmation",
                    "failed")
    assert f["error"] == "acme: The number [number] is not valid", f
    assert bad["phone"][1:] not in r.read_log() and p["phone"][1:] not in r.read_log()


@with_config(lambda sim: acme_config(sim, "throw") + 'retry = {first = "1s", max = "1s"}\n')
def test_third_party_gateway_error_is_a_retry(r, sim):
    p = person(r)
    e = enroll(r, session(r, 3 * DAY)["id"], p["id"])

    def tried():
        rows = notifs(r, e["id"], "confirmation")
        return rows and rows[0]["attempts"] >= 1 and rows[0]["status"] == "pending" and rows[0]
    n = wait_until(tried, 15, "a failed attempt")
    assert re.fullmatch(r"plugin error at acme/plugin\.lua:\d+", n["error"]), n
    assert p["phone"] not in r.read_log(), "the error's text (with the number) is not logged"


# --- OVHcloud ---------------------------------------------------------------------------
@with_config(lambda sim: 'sms = {provider = "ovh"}\n' + ovh_table(
    sim, ', dlr_token = "dlr-0123456789abcdef"') + 'retry = {first = "1s", max = "2s"}\n')
def test_ovh_end_to_end(r, sim):
    # OVHcloud's clock is ahead: only a timestamp asked of /auth/time passes.
    sim.ovh_skew = 500
    assert loaded(r, "sms-ovh") and not loaded(r, "sms-twilio"), r.read_log()
    p = person(r)
    e = enroll(r, session(r, 3 * DAY)["id"], p["id"])
    n = wait_status(r, e["id"], "confirmation", "sent")
    rec = [x for x in sim.requests if x["provider"] == "ovh"]
    assert len(rec) == 1 and rec[0]["status"] == 200, rec
    body = rec[0]["json"]
    assert body["receivers"] == [p["phone"]] and body["sender"] == "RELAIS", body
    assert body["noStopClause"] is True and body["tag"] == "confirmation", body
    assert n["segments"] == check_gsm_text(body["message"]), (n, body)
    assert rec[0]["headers"]["idempotency-key"] == idem_key(r, n["id"]), rec[0]["headers"]
    assert n["provider_id"] == sim.messages[0]["sid"], (n, sim.messages)
    assert sim.ovh_time_requests == 1
    # Delivery reports: a wrong token changes nothing; ptt 4 delivers.
    assert sim.ovh_report(n["provider_id"], 4, base(r), "wrong-token-0123456") == 403
    assert one(r, e["id"], "confirmation")["status"] == "sent"
    assert sim.ovh_report(n["provider_id"], 4, base(r), "dlr-0123456789abcdef") == 200
    assert one(r, e["id"], "confirmation")["status"] == "delivered"
    # 429, then accepted: retried with the same key.
    sim.fail_next(1, "429")
    e2 = enroll(r, session(r, 4 * DAY)["id"], person(r)["id"])
    n2 = wait_status(r, e2["id"], "confirmation", "sent", timeout=20)
    assert n2["attempts"] == 2, n2
    keys = [x["idem_key"] for x in sim.requests if x["provider"] == "ovh"][1:]
    assert keys == [idem_key(r, n2["id"])] * 2, keys
    assert sim.ovh_report(n2["provider_id"], 5, base(r), "dlr-0123456789abcdef",
                          method="POST") == 200
    f = one(r, e2["id"], "confirmation")
    assert (f["status"], f["error"]) == ("failed", "ovh: not delivered"), f
    # An invalid receiver: failed at once, not retried.
    bad = person(r)
    sim.invalid_numbers.add(bad["phone"])
    f = wait_status(r, enroll(r, session(r, 5 * DAY)["id"], bad["id"])["id"], "confirmation",
                    "failed")
    assert (f["error"], f["attempts"]) == ("ovh: invalid receiver", 1), f
    log = r.read_log()
    assert p["phone"][1:] not in log and bad["phone"][1:] not in log
    assert sim.ovh_app_secret not in log and sim.ovh_consumer_key not in log


@with_config(lambda sim: 'sms = {provider = "ovh", url = "%s", application_key = "%s", '
             'application_secret = "not-the-secret", consumer_key = "%s", service_name = "%s"}\n'
             % (sim.url, sim.ovh_app_key, sim.ovh_consumer_key, sim.ovh_service))
def test_ovh_bad_signature_waits(r, sim):
    """Settings beside the provider work for OVHcloud too; a signature OVHcloud
    refuses is about our keys, not the message: it waits."""
    e = enroll(r, session(r, 3 * DAY)["id"], person(r)["id"])

    def tried():
        rows = notifs(r, e["id"], "confirmation")
        return rows and rows[0]["attempts"] == 1 and rows[0]["status"] == "pending" and rows[0]
    n = wait_until(tried, 15, "the first attempt")
    assert n["error"] == "ovh: authentication failed", n
    assert sim.messages == [] and [x["status"] for x in sim.requests] == [400], sim.requests
    assert sim.requests[0]["answer"]["errorCode"] == "INVALID_SIGNATURE"
    assert "ovh refused our signature or keys" in r.read_log()


if __name__ == "__main__":
    run(globals())
