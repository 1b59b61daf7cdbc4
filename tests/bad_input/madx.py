"""Bad-input rows for beamkit.madx (sessions). Each row opens its own short-lived session."""

from beamkit import madx
from beamkit.errors import InputError, MadxError


def _in_session(statement):
    def call():
        with madx.session() as mad:
            mad.input(statement)
    return call


def _set(**values):
    def call():
        with madx.session() as mad:
            mad.set_variables(**values)
    return call


def _after_close():
    mad = madx.MadxSession()
    mad.close()
    mad.input("x = 1;")


def _after_fatal():
    with madx.session() as mad:
        try:
            mad.input("qf: quadrupol, l = 1;")
        except MadxError:
            pass
        mad.input("x = 1;")


CASES = [
    ("stop-statement", _in_session("stop;"), InputError, ["text", "close()"]),
    ("quit-statement", _in_session("x = 1; quit;"), InputError, ["text", "close()"]),
    ("text-not-str", _in_session(42), InputError, ["text", "42", "str"]),
    ("variable-nan", _set(theta=float("nan")), InputError, ["theta", "nan", "finite"]),
    ("variable-inf", _set(k1=float("inf")), InputError, ["k1", "finite"]),
    ("variable-string", _set(k1="0.1"), InputError, ["k1", "real number"]),
    ("variable-bad-name", _set(**{"1abc": 1.0}), InputError, ["1abc", "variable name"]),
    ("timeout-negative", lambda: madx.MadxSession(timeout_s=-1), InputError, ["timeout_s", "> 0"]),
    ("input-after-close", _after_close, MadxError, ["closed", "new session"]),
    ("input-after-fatal", _after_fatal, MadxError, ["dead", "fatal", "new session"]),
    ("unknown-class", _in_session("qf: quadrupol, l = 1;"), MadxError, ["quadrupol"]),
    ("unknown-sequence", _in_session("use, sequence = nothere;"), MadxError, ["unknown sequence"]),
]
