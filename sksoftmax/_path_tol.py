"""How tight each fit of a cross-validated path is: as tight as its score needs.

A path fit is only read through its held-out score. The score's error falls
about in proportion to the stopping tolerance (on standardized digits, 5
folds and ``C`` from 1e-4 to 1e4, the largest relative error went from 1e-2
at ``tol=1e-3`` to 1e-3 at ``1e-4`` and 7e-5 at ``1e-6``), but the factor
varies with ``C`` by orders of magnitude: a strongly regularized fit scores
to 1e-6 at ``tol=1e-4``, a weakly regularized one needs ``1e-6`` for 1e-4.

So each point of the path is solved in stages of decreasing tolerance, each
starting where the last stopped, until two consecutive stages' scores agree:
with tolerances ``t`` and ``t / STEP``, the error of the second score is
about ``|s_1 - s_2| / (STEP - 1)``, and the point is done when that is below
``rtol * |s_2|``. A stage of at most one iteration confirms nothing: the
stage before it had already ended below this one's tolerance, so the score
did not move because the fit did not, not because it was precise. On
standardized wine (pure L1, ``C = 1443``, nearly separable: a training loss
of 4e-4) a first stage ended at a relative gap of 1e-7, the second took one
iteration, and the two equal scores were 7.7e-4 off (under OpenBLAS's
Sandybridge kernel; 3e-5 under others); a tighter stage follows instead.
The first stage's tolerance is predicted from the last point's error per unit
of tolerance (the path moves smoothly), so that most points need two stages.
"""

import numpy as np

# The estimated relative error of a held-out score that a path point is
# solved to. The estimate is rough: measured errors against fits to tol=1e-10
# reached 9 times it (4.5e-5 on raw digits, 2.3e-5 standardized, elastic net
# 2.1e-5), inside the 1e-4 that the score curves are held to.
SCORE_RTOL = 5e-6
# Ratio of consecutive stages' tolerances.
STEP = 10.0
# The tightest stage: below, the rounding floor ends fits before their tol.
FLOOR = 1e-10


class ScoreTolerance:
    """The stages of tolerance of each point of one path.

    Parameters
    ----------
    loosest : float
        Largest tolerance of a first stage.
    rtol : float, default=SCORE_RTOL
        Target relative error of each point's score.
    """

    def __init__(self, loosest, rtol=SCORE_RTOL):
        self.loosest = float(loosest)
        self.rtol = rtol
        self.slope = None  # relative score error per unit of tolerance
        self.point_slope = 0.0

    def first(self):
        """Tolerance of a point's first stage."""
        # The slope of this point: the largest seen in its stages, and at
        # least half the last point's (one lucky small difference between two
        # stages must not make the next point start too loose).
        self.point_slope = (self.slope or 0.0) / 2
        if not self.slope:
            return self.loosest
        return float(np.clip(STEP * self.rtol / self.slope, FLOOR,
                             self.loosest))

    def next(self, tol, score, previous, moved=True):
        """Tolerance of the next stage, or None when the score is precise.

        Parameters
        ----------
        tol : float
            Tolerance of the stage that gave ``score``.
        score, previous : float
            Scores of this stage and the one before (None for the first).
        moved : bool, default=True
            Whether that stage ran more than one iteration. One that did not
            confirms nothing: the next stage is tighter.
        """
        if previous is None or not moved:
            return max(tol / STEP, FLOOR) if tol > FLOOR else None
        scale = max(abs(score), np.finfo(np.float64).tiny)
        error = abs(score - previous) / (STEP - 1) / scale
        if not np.isfinite(error):
            return None
        self.point_slope = max(self.point_slope, error / tol)
        if error <= self.rtol or tol <= FLOOR:
            self.slope = self.point_slope  # for the next point's first stage
            return None
        return max(tol / STEP, FLOOR)
