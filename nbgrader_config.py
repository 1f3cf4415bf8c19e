"""The course's one configuration. The formgrader, the `nbgrader` command line and
`python -m autograder` all read this file; change settings here and nowhere else.

The hidden-test seed is the one setting that is not here: it is a secret, so it comes from
the environment (`export AUTOGRADER_HIDDEN_SEED=...` before `grade`; keep it for the term).
"""
c = get_config()  # noqa: F821 -- provided by the traitlets config loader

c.CourseDirectory.course_id = "backprop-course"

# Grading limits (autograder/grading/course.py, CourseSettings): per cell, per kernel, per sandbox
c.CourseSettings.cell_timeout_s = 60  # wall-clock seconds per cell, then the kernel is interrupted
c.CourseSettings.kernel_memory_mb = 3072  # address space of every graded process
c.CourseSettings.max_processes = 256  # processes and threads alive at once in one sandbox
c.CourseSettings.kernel_cpu_s = 600  # CPU seconds per graded process
c.CourseSettings.max_file_mb = 256  # largest file a submission may write

# Late submissions. Due dates live in the gradebook: set them in the formgrader ("Manage
# Assignments") or with `nbgrader db assignment add NAME --duedate="2027-02-01 17:00:00 UTC"`.
# penalty_method: "none" (late is only flagged) or "zero" (a late notebook scores 0);
# or a plugin of your own, see nbgrader's LateSubmissionPlugin.
c.LateSubmissionPlugin.penalty_method = "none"

# Keep last: turns the settings above into the grading configuration.
from autograder.grading.config import apply_course_config  # noqa: E402

apply_course_config(c)
