"""The health check's helper thread: one per process, reused, and never piled up behind a hang."""
import threading

from namalms import database


def test_checks_reuse_one_thread_and_a_hung_check_is_not_started_again(monkeypatch):
    release = threading.Event()
    pings = []

    def ping(app, result):
        pings.append(threading.current_thread().name)
        if app == "hangs":
            release.wait(10)
        result["status"] = "ok"

    monkeypatch.setattr(database, "_ping", ping)
    probe = database._Probe()
    threads_before = threading.active_count()

    assert [probe.check("answers", 5) for _ in range(20)] == ["ok"] * 20
    assert threading.active_count() == threads_before + 1, "one helper thread for all checks"

    assert probe.check("hangs", 0.05) == "timeout"
    assert probe.check("answers", 0.05) == "check pending", "no second check behind the hung one"
    release.set()
    for _ in range(6000):  # the hung check comes back a moment later (at most a minute on a busy machine)
        if not probe._busy:
            break
        threading.Event().wait(0.01)
    assert probe.check("answers", 5) == "ok"
    assert len(pings) == 22 and set(pings) == {"namalms-healthz"}
