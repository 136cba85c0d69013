"""Hyperparameter search with Optuna: `dcgan tune`.

Each trial trains a DCGAN for a fixed budget of images (budget_images // batch_size steps) in its own run dir,
exports it, and is scored by FID (and KID) on the validation split of a split cache from `dcgan prepare --split`,
always with the same z seed so the trials are comparable. The study lives in an Optuna RDB storage (SQLite beside
the results by default), so rerunning the same command resumes it. Optuna is imported lazily:
`pip install 'dcgan[tune]'`.

One module per concern:
- space: the search space (DEFAULT_SPACE, --space JSON, checks) and a trial's config
- splits: the train/val/test folders of the split cache
- study: the resumable Optuna study (storage, settings, retries of failed trials)
- objective: one trial (train, export, score on val) and the winner's test score
- report: the table, trials.csv, results.json, best_config.json and the plot
- search: `tune()`, the loop that runs or resumes a search
"""

from dcgan.tuning.objective import TuningInterrupted, evaluate_model, evaluate_winner_on_test, make_objective
from dcgan.tuning.report import CSV_FILE, PLOT_FILE, RESULTS_FILE, format_table, report, trial_rows, write_svg_plot
from dcgan.tuning.search import MARKER_FILE, default_out, tune
from dcgan.tuning.space import DEFAULT_SPACE, fixed_config, load_space, resolve_space, searched, suggest, trial_config
from dcgan.tuning.splits import split_dirs
from dcgan.tuning.study import check_settings, enqueue_retries, finished_count, open_study

__all__ = [
    "CSV_FILE",
    "DEFAULT_SPACE",
    "MARKER_FILE",
    "PLOT_FILE",
    "RESULTS_FILE",
    "TuningInterrupted",
    "check_settings",
    "default_out",
    "enqueue_retries",
    "evaluate_model",
    "evaluate_winner_on_test",
    "finished_count",
    "fixed_config",
    "format_table",
    "load_space",
    "make_objective",
    "open_study",
    "report",
    "resolve_space",
    "searched",
    "split_dirs",
    "suggest",
    "trial_config",
    "trial_rows",
    "tune",
    "write_svg_plot",
]
