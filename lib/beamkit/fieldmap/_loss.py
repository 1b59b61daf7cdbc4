"""Loss codes of field-map tracking: the one definition used by the kernels and the results.

A particle is *kept* (``ALIVE``) or lost for one reason. :attr:`TrackResult.lost` is
``loss_code != ALIVE`` and :attr:`TrackResult.z_lost` the z (m) of the start of the step in
which it was lost (NaN for particles kept); recorded coordinates after a loss are NaN.
"""

ALIVE = 0
LEFT_MAP = 1
TURNED_BACK = 2
LOST_BEFORE = 3

#: Meaning of :attr:`TrackResult.loss_code`.
LOSS_REASONS = {
    ALIVE: "alive",
    LEFT_MAP: "left the map transversely",
    TURNED_BACK: "turned back (pz <= 0)",
    LOST_BEFORE: "lost before tracking",
}
