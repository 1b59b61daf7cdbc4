"""MAD-X sessions through cpymad that fail loudly and never take the kernel down.

cpymad runs MAD-X in a separate process, so a MAD-X crash (``+=+=+= fatal``) ends that
process, not the Python interpreter. :class:`MadxSession` adds what a notebook needs on
top: output kept in a log instead of flooding the page, and every error MAD-X reports
turned into a :class:`beamkit.MadxError` that quotes the offending input.

MAD-X signals problems three ways, and all three raise:

* a *fatal* error ends the MAD-X process (cpymad raises ``RuntimeError``);
* a command that fails (e.g. ``twiss`` on an unstable lattice) makes cpymad's
  ``input`` return ``False`` and prints ``Error:`` lines;
* some mistakes only print ``++++++ warning:`` (an unknown sequence is "skipped",
  ``twiss`` on an inactive sequence is "ignored"). By default these raise too; pass
  ``allow_warnings=True`` to keep going and read them from ``MadxSession.warnings``.

A session can never hang the caller:

* every :meth:`MadxSession.input` runs under a time limit (``timeout_s``, default
  :data:`DEFAULT_TIMEOUT_S`); past it the MAD-X child is killed and
  :class:`beamkit.MadxTimeoutError` is raised;
* an interrupt (Ctrl-C, ``KeyboardInterrupt``) during an input kills the child, marks the
  session dead and is passed on;
* :meth:`MadxSession.close` never waits on a busy child: it asks MAD-X to quit under a
  short time limit and kills it otherwise;
* the child is started so that the kernel kills it when the Python thread that started it
  ends (Linux ``PR_SET_PDEATHSIG``), and every live session is killed at interpreter exit,
  so no MAD-X process outlives its session or its Python process.

Example
-------
>>> from beamkit import madx, lattices
>>> with madx.session() as mad:                       # doctest: +SKIP
...     mad.load(lattices.lhc_fodo_cell())
...     mad.input("twiss;")
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import re
import signal
import sys
import tempfile
import threading
import weakref

from . import _validate as _v
from .errors import InputError, MadxError, MadxTimeoutError

__all__ = ["CLOSE_GRACE_S", "DEFAULT_TIMEOUT_S", "MadxSession", "session"]

#: Time limit (s) of one :meth:`MadxSession.input` unless the session or the call sets
#: another. Generous: the book's longest MAD-X input (a chromaticity match) takes ~1 s.
DEFAULT_TIMEOUT_S = 600.0
#: How long :meth:`MadxSession.close` lets MAD-X quit politely before killing it (s).
CLOSE_GRACE_S = 5.0

# Statements that end or reset the MAD-X interpreter behind the session's back.
_ENDING = re.compile(r"(?:^|;)\s*(stop|exit|quit)\s*(?:;|$)", re.IGNORECASE)
_LIVE = weakref.WeakSet()


def _die_with_parent():  # pragma: no cover - runs in the child between fork and exec
    """Ask the Linux kernel to SIGKILL this process when its parent thread ends."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1


@atexit.register
def _kill_all_sessions():
    for mad in list(_LIVE):
        with contextlib.suppress(Exception):
            mad._kill("the Python interpreter is exiting")

_PROBLEM = re.compile(r"^\s*(\+=\+=\+= fatal:.*|\+\+\+\+\+\+ (?:error|Error):.*|.*seterrorflag.*)$")
_WARNING = re.compile(r"^\s*\+\+\+\+\+\+ warning:.*$")


class MadxSession:
    """A MAD-X process (via cpymad) with error checking and a kept log.

    Parameters
    ----------
    quiet : bool
        Keep MAD-X's output in :attr:`log` only (default). With ``quiet=False`` it is
        also echoed to standard output.
    allow_warnings : bool
        If False (default), MAD-X warnings raise :class:`beamkit.MadxError`.
    timeout_s : float or None
        Time limit in seconds of each :meth:`input` (default :data:`DEFAULT_TIMEOUT_S`);
        ``None`` for no limit (an interrupt still kills the child).

    Attributes
    ----------
    madx : cpymad.madx.Madx
        The underlying cpymad object, for tables (``madx.table.twiss``), sequences and
        variables.
    warnings : list of str
        Warning lines MAD-X printed so far.
    """

    def __init__(self, quiet=True, allow_warnings=False, timeout_s=DEFAULT_TIMEOUT_S):
        from cpymad.madx import Madx  # imported lazily: starts a subprocess

        self.quiet = bool(quiet)
        self.allow_warnings = bool(allow_warnings)
        self.timeout_s = _v.scalar("timeout_s", timeout_s, positive=True, unit="s", allow_none=True,
                                   fix="give a time limit in seconds, or None for no limit")
        self.warnings = []
        self.madx = None
        self._state = "starting"
        self._why_dead = ""
        fd, self._log_path = tempfile.mkstemp(prefix="beamkit-madx-", suffix=".log")
        self._log_file = os.fdopen(fd, "w+")
        self._read_pos = 0
        extra = {"preexec_fn": _die_with_parent} if sys.platform.startswith("linux") else {}
        self.madx = Madx(stdout=self._log_file, stderr=self._log_file, **extra)
        self._state = "alive"
        _LIVE.add(self)
        self._new_output()  # skip the banner

    # ---------------------------------------------------------------- state
    @property
    def alive(self):
        """True while the MAD-X process runs and accepts input."""
        return self._state == "alive" and self.pid is not None and self._process().poll() is None

    @property
    def pid(self):
        """Process id of the MAD-X child (``None`` once it has ended)."""
        proc = self._process()
        return None if proc is None or proc.poll() is not None else proc.pid

    def _process(self):
        return getattr(self.madx, "_process", None) if self.madx is not None else None

    def _kill(self, why):
        """Kill the MAD-X child at once (SIGKILL) and mark the session dead."""
        if self._state in ("alive", "starting"):
            self._state = "dead"
            self._why_dead = why
        proc = self._process()
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(Exception):
                proc.kill()
            with contextlib.suppress(Exception):
                proc.wait(timeout=CLOSE_GRACE_S)
        _LIVE.discard(self)

    def _refuse_if_unusable(self, text):
        if self._state == "closed":
            raise MadxError(text, [], "this MAD-X session was closed; start a new session")
        if self._state != "alive" or self._process() is None or self._process().poll() is not None:
            why = self._why_dead or "its MAD-X process has ended"
            raise MadxError(text, [], f"this MAD-X session is dead ({why}); start a new session")

    # ------------------------------------------------------------------ log
    @property
    def log(self):
        """Everything MAD-X printed in this session (str)."""
        self._log_file.flush()
        with open(self._log_path) as fh:
            return fh.read()

    def _new_output(self):
        self._log_file.flush()
        with open(self._log_path) as fh:
            fh.seek(self._read_pos)
            text = fh.read()
            self._read_pos = fh.tell()
        if not self.quiet and text:
            print(text, end="")
        return text

    # ---------------------------------------------------------------- input
    def input(self, text, timeout_s="session"):
        """Run MAD-X input text; raise :class:`beamkit.MadxError` if MAD-X reports a problem.

        Parameters
        ----------
        text : str
            MAD-X statements. ``stop;``, ``exit;`` and ``quit;`` are refused: they end the
            interpreter behind the session's back (use :meth:`close`).
        timeout_s : float or None
            Time limit in seconds for this input; by default the session's
            ``timeout_s``. Past it the child is killed and
            :class:`beamkit.MadxTimeoutError` is raised.

        Returns
        -------
        str
            The text MAD-X printed for this input.
        """
        if not isinstance(text, str):
            raise InputError("text", text, "must be MAD-X input as a str")
        if _ENDING.search(text):
            raise InputError("text", text, "would end the MAD-X interpreter behind the session's back",
                             "use close() (or leave the with-block) to end a session")
        self._refuse_if_unusable(text)
        limit = self.timeout_s if timeout_s == "session" else _v.scalar(
            "timeout_s", timeout_s, positive=True, unit="s", allow_none=True)
        timer = None
        if limit is not None:
            why = f"an input ran past its {limit:g} s time limit"
            timer = threading.Timer(limit, self._kill, args=(why,))
            timer.daemon = True
            timer.start()
        try:
            ok = self.madx.input(text)
        except KeyboardInterrupt:
            self._kill("interrupted (KeyboardInterrupt) while running an input")
            raise
        except Exception as exc:  # cpymad: RuntimeError, RemoteProcessClosed/Crashed
            timed_out = self._state == "dead" and "time limit" in self._why_dead
            self._kill("MAD-X stopped (fatal error)")
            output = self._new_output()
            if timed_out:
                raise MadxTimeoutError(text, [f"killed after {limit:g} s"],
                                       f"MAD-X ran past the time limit of {limit:g} s and was killed "
                                       "(pass a larger timeout_s, or None); start a new session") from None
            msgs = [ln.strip() for ln in output.splitlines() if _PROBLEM.match(ln)] or [repr(exc)]
            raise MadxError(text, msgs, "MAD-X stopped (fatal error)") from None
        finally:
            if timer is not None:
                timer.cancel()
        output = self._new_output()
        lines = output.splitlines()
        problems = [ln.strip() for ln in lines if _PROBLEM.match(ln)]
        warns = [ln.strip() for ln in lines if _WARNING.match(ln)]
        self.warnings.extend(warns)
        if ok is False or problems:
            raise MadxError(text, problems + warns)
        if warns and not self.allow_warnings:
            raise MadxError(text, warns, "MAD-X printed warnings (pass allow_warnings=True to accept them)")
        return output

    def load(self, lattice, use=True):
        """Define a :class:`beamkit.lattices.Lattice` in MAD-X and ``use`` its sequence."""
        self.input(lattice.madx_input())
        if use:
            self.input(f"use, sequence = {lattice.name};")
        return self

    def makethin(self, sequence, slices=1, style="teapot",
                 classes=("quadrupole", "sbend", "sextupole")):
        """Replace thick elements by thin slices (MAD-X ``makethin``) and ``use`` the result.

        ``style="teapot"`` places the kicks as xtrack's ``Teapot`` slicing does, so the
        thin models of the two codes agree (one slice: a kick at the centre). Dipole
        edges are not added (``makedipedge = false``), as in the lecture.
        """
        lines = ["select, flag = makethin, clear;"]
        lines += [f"select, flag = makethin, class = {c}, slice = {int(slices)};" for c in classes]
        lines.append(f"makethin, sequence = {sequence}, style = {style}, makedipedge = false;")
        lines.append(f"use, sequence = {sequence};")
        self.input("\n".join(lines))
        return self

    def set_variables(self, **values):
        """Set MAD-X global variables, e.g. ``mad.set_variables(theta=0)``.

        Values must be finite numbers: MAD-X would read ``nan`` as 0 without a word.
        """
        checked = {}
        for k, v in values.items():
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.]*", k):
                raise InputError(k, v, "is not a valid MAD-X variable name")
            checked[k] = _v.scalar(k, v, fix="MAD-X reads NaN and infinities as 0 without a warning")
        self.input("\n".join(f"{k} = {v!r};" for k, v in checked.items()))

    def close(self):
        """End the MAD-X process and remove the log file. Never blocks for long.

        A live, idle session is asked to quit (for at most :data:`CLOSE_GRACE_S`); a busy,
        dead or interrupted one is killed. Calling it twice is harmless.
        """
        if getattr(self, "madx", None) is not None:
            proc = self._process()
            if self._state == "alive" and proc is not None and proc.poll() is None:
                watchdog = threading.Timer(CLOSE_GRACE_S, self._kill, args=("closing timed out",))
                watchdog.daemon = True
                watchdog.start()
                try:
                    with contextlib.suppress(Exception):
                        self.madx.quit()
                finally:
                    watchdog.cancel()
            self._kill("closed")
            self.madx = None
        self._state = "closed"
        log_file = getattr(self, "_log_file", None)
        if log_file is not None and not log_file.closed:
            log_file.close()
        with contextlib.suppress(OSError, AttributeError):
            os.unlink(self._log_path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):  # pragma: no cover - best effort
        with contextlib.suppress(Exception):
            self.close()


@contextlib.contextmanager
def session(quiet=True, allow_warnings=False, timeout_s=DEFAULT_TIMEOUT_S):
    """A :class:`MadxSession` as a context manager; MAD-X ends when the block ends.

    Leaving the block never hangs, even after an interrupt or a time-out.

    >>> with session() as mad:                           # doctest: +SKIP
    ...     mad.input("x = 1;")
    """
    mad = MadxSession(quiet=quiet, allow_warnings=allow_warnings, timeout_s=timeout_s)
    try:
        yield mad
    finally:
        mad.close()
