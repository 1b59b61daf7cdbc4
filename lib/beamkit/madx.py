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

Example
-------
>>> from beamkit import madx, lattices
>>> with madx.session() as mad:                       # doctest: +SKIP
...     mad.load(lattices.lhc_fodo_cell())
...     mad.input("twiss;")
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile

from .errors import MadxError

__all__ = ["MadxSession", "session"]

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

    Attributes
    ----------
    madx : cpymad.madx.Madx
        The underlying cpymad object, for tables (``madx.table.twiss``), sequences and
        variables.
    warnings : list of str
        Warning lines MAD-X printed so far.
    """

    def __init__(self, quiet=True, allow_warnings=False):
        from cpymad.madx import Madx  # imported lazily: starts a subprocess

        self.quiet = quiet
        self.allow_warnings = allow_warnings
        self.warnings = []
        fd, self._log_path = tempfile.mkstemp(prefix="beamkit-madx-", suffix=".log")
        self._log_file = os.fdopen(fd, "w+")
        self._read_pos = 0
        self._alive = True
        self.madx = Madx(stdout=self._log_file, stderr=self._log_file)
        self._new_output()  # skip the banner

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
    def input(self, text):
        """Run MAD-X input text; raise :class:`beamkit.MadxError` if MAD-X reports a problem.

        Returns the text MAD-X printed for this input.
        """
        if not self._alive:
            raise MadxError(text, [], "this MAD-X session has stopped after a fatal error; "
                                      "start a new session")
        try:
            ok = self.madx.input(text)
        except Exception as exc:  # cpymad: RuntimeError, RemoteProcessClosed/Crashed
            self._alive = False
            output = self._new_output()
            msgs = [ln.strip() for ln in output.splitlines() if _PROBLEM.match(ln)] or [repr(exc)]
            raise MadxError(text, msgs, "MAD-X stopped (fatal error)") from None
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
        """Set MAD-X global variables, e.g. ``mad.set_variables(theta=0)``."""
        self.input("\n".join(f"{k} = {float(v)!r};" for k, v in values.items()))

    def close(self):
        """End the MAD-X process and remove the log file."""
        if getattr(self, "madx", None) is not None:
            with contextlib.suppress(Exception):
                self.madx.quit()
            self.madx = None
        self._alive = False
        if not self._log_file.closed:
            self._log_file.close()
        with contextlib.suppress(OSError):
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
def session(quiet=True, allow_warnings=False):
    """A :class:`MadxSession` as a context manager; MAD-X ends when the block ends.

    >>> with session() as mad:                           # doctest: +SKIP
    ...     mad.input("x = 1;")
    """
    mad = MadxSession(quiet=quiet, allow_warnings=allow_warnings)
    try:
        yield mad
    finally:
        mad.close()
