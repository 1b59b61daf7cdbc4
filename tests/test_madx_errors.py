"""Bad MAD-X input raises MadxError naming the input; the Python process survives."""

import pytest

from beamkit import MadxError, lattices, madx


def test_typo_raises_and_quotes_input(mad):
    with pytest.raises(MadxError, match="quadrupol") as info:
        mad.input("qf: quadrupol, l = 1;")
    assert "unknown class type" in str(info.value)
    assert info.value.input == "qf: quadrupol, l = 1;"
    # The MAD-X process died; the session says so instead of hanging or crashing.
    with pytest.raises(MadxError, match="start a new session"):
        mad.input("x = 1;")


def test_kernel_survives_and_new_session_works():
    with madx.session() as first:
        with pytest.raises(MadxError):
            first.input('call, file = "this/file/does/not/exist.madx";')
    with madx.session() as second:
        second.load(lattices.lhc_fodo_cell())
        assert "enter Twiss module" in second.input("twiss;")


def test_unknown_sequence_warning_raises(mad):
    with pytest.raises(MadxError, match="unknown sequence"):
        mad.input("use, sequence = nothere;")


def test_warnings_can_be_allowed():
    with madx.session(allow_warnings=True) as mad:
        mad.input("use, sequence = nothere;")
        assert any("unknown sequence" in w for w in mad.warnings)


def test_twiss_of_unstable_lattice_raises(mad):
    cell = lattices.fodo_cell(10.0, 2.0, quad_length_m=0.5)
    mad.load(cell)
    with pytest.raises(MadxError, match="TWISS failed"):
        mad.input("twiss;")


def test_log_is_kept(mad):
    mad.input("value, 1 + 2;")
    assert "3" in mad.log


# ---------------------------------------------------------------- interrupts, time limits, orphans
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

from beamkit import InputError, MadxTimeoutError  # noqa: E402

ENDLESS = "n = 0; while (n > -1) { n = n + 1; }"


def _pid_running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); read its state.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_gone(pid, seconds=10.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not _pid_running(pid):
            return True
        time.sleep(0.05)
    return False


def test_interrupt_kills_child_and_new_session_works():
    """Ctrl-C on an endless MAD-X loop: the child dies, the session says so, close() is quick."""
    mad = madx.MadxSession(timeout_s=None)
    pid = mad.pid
    timer = threading.Timer(1.0, os.kill, args=(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        mad.input(ENDLESS)
    timer.join()
    assert _wait_gone(pid), "the MAD-X child kept running after the interrupt"
    assert not mad.alive
    with pytest.raises(MadxError, match="interrupted"):
        mad.input("x = 1;")
    start = time.monotonic()
    mad.close()
    assert time.monotonic() - start < 2.0
    with pytest.raises(MadxError, match="closed"):
        mad.input("x = 1;")
    with madx.session() as fresh:
        fresh.input("x = 2;")
        assert fresh.madx.globals["x"] == 2


def test_time_limit_kills_child():
    with madx.session(timeout_s=1.0) as mad:
        pid = mad.pid
        start = time.monotonic()
        with pytest.raises(MadxTimeoutError, match="time limit"):
            mad.input(ENDLESS)
        assert time.monotonic() - start < 10.0
        assert _wait_gone(pid)
        with pytest.raises(MadxError, match="time limit"):
            mad.input("x = 1;")


def test_per_input_time_limit_overrides_session():
    with madx.session(timeout_s=None) as mad:
        with pytest.raises(MadxTimeoutError):
            mad.input(ENDLESS, timeout_s=0.5)


def test_leaving_block_after_interrupt_does_not_hang():
    start = time.monotonic()
    timer = threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGINT))
    with pytest.raises(KeyboardInterrupt):
        with madx.session(timeout_s=None) as mad:
            timer.start()
            mad.input(ENDLESS)
    timer.join()
    assert time.monotonic() - start < 10.0


def test_no_orphan_when_python_process_is_killed(tmp_path):
    """A Python process killed while MAD-X loops must not leave the MAD-X child running."""
    script = textwrap.dedent(f"""
        import sys
        from beamkit import madx
        mad = madx.MadxSession(timeout_s=None)
        print(mad.pid, flush=True)
        mad.input({ENDLESS!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline())
    time.sleep(0.5)
    assert _pid_running(child)
    proc.kill()
    proc.wait()
    assert _wait_gone(child), "MAD-X outlived the Python process that started it"


def test_stop_statement_is_refused(mad):
    with pytest.raises(InputError, match="close"):
        mad.input("stop;")
    with pytest.raises(InputError):
        mad.input("x = 1; exit;")
    mad.input("stopper = 1;")  # a name that merely starts with 'stop' is fine
    assert mad.alive


def test_set_variables_refuses_nan(mad):
    with pytest.raises(InputError, match="theta"):
        mad.set_variables(theta=float("nan"))
