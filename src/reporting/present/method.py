"""The method paragraph of a grid's summary: the study, its protocol, the statistics, halving."""
from ..compute.halving import halving_frame
from ...model.networks import describe
from ..compute.phrases import level_text

# weight init scheme (src.model.mlp.INITS) -> how the reports and the depth plot's legend name it
INIT_NAMES = {"default": "PyTorch's default", "kaiming_normal": "He", "kaiming_uniform": "He uniform",
              "xavier_normal": "Glorot", "xavier_uniform": "Glorot uniform", "lecun_normal": "LeCun"}


def study_line(search, n_candidates):
    """``3 candidates, 3-fold cross-validation repeated 3 times (9 splits) on mnist (60000 training images).``
    and how the splits were seeded (`seeding_text`)."""
    repeats, inits = search.repeats or 1, search.n_inits or 1
    splits = len(search.splits) // inits or "?"
    return (f"{n_candidates} candidates, {search.folds or '?'}-fold cross-validation"
            f"{' repeated ' + str(repeats) + ' times' if repeats > 1 else ''} ({splits} splits) on "
            f"{search.dataset or '?'} ({search.n_train or '?'} training images){network_text(search)}. "
            f"{seeding_text(search)}")


def network_text(search):
    """`` with an MLP (hidden layers of 128 and 64 units)``: the network the candidates trained (`src.model.networks`);
    empty for a record that does not say."""
    words = describe(search.network)
    return f" with {words}" if words else ""


def seeding_text(search):
    """How the fits were seeded: a seed per split (and ``cv.inits`` seeds per split), or one seed for all."""
    if not search.split_seeds:
        return (f"Every fit trained from seed {search.seed}: the intervals cover the splits' spread at that seed's "
                f"initial weights, batch order and random ops.")
    inits = search.n_inits or 1
    per_split = (f"{inits} seeds per split (cv.inits={inits}), each split's score the mean over its seeds"
                 if inits > 1 else "one seed per split (cv.inits=1)")
    return (f"Each split trained from its own seed, derived from seed {search.seed} and the split, the same for "
            f"every candidate of the split; {per_split}: the intervals cover the spread of the initial weights, "
            f"the batch order and the random ops as well as the splits'.")



def protocol_text(search):
    """How the candidates were trained: at the configured settings, or each at its own tuned ones."""
    if not search.tuned:
        return "Fixed protocol: every candidate trained at the configured settings."
    names = " and ".join(search.tuned)
    return (f"Tuned protocol: each activation was trained at every {names} of the tune grid on every split; on "
            f"each split, its {names} was chosen by the last epoch's accuracy on the validation rows that each "
            f"fit holds out of the split's training rows (ties: the lower validation loss, then the value listed "
            f"first), and the chosen fit's accuracy on the split's held-out rows, which the choice never saw, is "
            f"its score below.")



def method_text(alpha, margin=None):
    """What the summary's columns mean and how they were computed, at the level ``1 - alpha``; with a
    ``margin`` of equivalence (in accuracy), what equivalent and inconclusive mean at it."""
    level = level_text(alpha)
    standing = ("'Not separated' means the data cannot tell it from the best, not that the two are equal."
                if margin is None or not margin == margin else
                f"A candidate is 'equivalent' to the best when two one-sided tests on the same corrected variance "
                f"(TOST p-values Holm-adjusted over all pairs) put its difference within ±{margin * 100:.2f} points "
                f"(the margin, stats.margin); 'inconclusive' when it is neither worse nor shown equivalent, its "
                f"interval then reaching past the margin. The Bayesian columns are the correlated t-test's "
                f"probabilities of worse, within the margin and better (a second view, not a second verdict).")
    return (f"Accuracy is the held-out accuracy of each cross-validation split, mean ± std over the splits. The "
            f"{level} confidence intervals and the p-values use the Nadeau-Bengio corrected resampled t-test, "
            f"which accounts for the overlap of training sets between splits (its ratio counts the rows each fit "
            f"trains on), with a variance never below what the test rows resolve (the rule of three where the "
            f"splits agree exactly); an interval that crosses the "
            f"bounds of the accuracy (0 and 1, or ±100 points for a difference) is clipped to them and marked, "
            f"since the normal approximation fails there. The difference to the best is the candidate's "
            f"accuracy minus the best one's, in points, with that pair's {level} interval (not adjusted for the "
            f"number of pairs). Every pair of candidates is tested and the p-values are Holm-adjusted over all "
            f"pairs; a candidate is 'worse' when its pair with the best has an adjusted p-value below {alpha:g}. "
            f"{standing} A candidate is 'unstable' when a split lies far from its others (such as one split at "
            f"chance level); its status lists its split scores. A candidate whose interval reaches down to chance "
            f"level (one class in as many as the data have) is 'not shown above chance'. Step cost: the time of "
            f"one training step relative to relu's, on the machine that ran the grid.")


def alias_lines(search):
    """Sentences naming the activations trained once for several names (``aliases`` of ``search.json``)."""
    return [f"{', '.join(names)} compute{'s' if len(names) == 1 else ''} the same function as {kept}: "
            f"trained once, listed under {kept}." for kept, names in (search.aliases or {}).items()]



def init_lines(search):
    """A sentence naming each activation's weight init, when ``model.init=auto`` gave them different ones
    (``inits`` of ``search.json``): a difference between two candidates may then be their inits'."""
    inits = search.inits or {}
    if len(set(inits.values())) < 2:
        return []
    by_init = {}
    for label, init in inits.items():
        by_init.setdefault(init, []).append(label)
    named = "; ".join(f"{INIT_NAMES.get(init, init)}{'' if init == 'default' else f' ({init})'} for {', '.join(labels)}"
                      for init, labels in by_init.items())
    return [f"Weights were initialised with each activation's own recipe (model.init=auto): {named}. A difference "
            f"between candidates of different inits may come from the init as well as the activation; "
            f"model.init=kaiming_normal (or another) gives every candidate the same."]


def halving_text(search):
    """What successive halving stopped and when, for the method paragraph; empty without halving."""
    halving = search.halving
    if not halving:
        return ""
    table = halving_frame(halving)
    rungs = halving["rungs"]
    tuned = search.protocol == "tuned"
    fell = table[~table["kept"].astype(bool)]
    counts = "; ".join(f"{len(group)} at epoch {epochs}" for epochs, group in fell.groupby("epochs"))
    within = ("within each activation and split (its own tune settings ranked against each other on that split's "
              "validation rows; the activations themselves all got the full budget)" if tuned
              else "across the grid's candidates")
    floor = "at least 2, and 1 at the last cut" if tuned else "at least 2"
    at = f"epoch{'s' if len(rungs) > 2 else ''} {', '.join(map(str, rungs[:-1]))}"
    ranked = ("on that split's validation accuracy of that epoch" if tuned
              else "by the validation accuracy of that epoch averaged over all their folds")
    text = (f"Successive halving (eta {halving['eta']}) ran {within}: at each rung ({at}) the candidates were "
            f"ranked {ranked}, and the top 1/{halving['eta']} (rounded up; {floor}) trained on from where they "
            f"stood to the next rung, up to the full {rungs[-1]} epochs. ")
    units = table.drop_duplicates(["candidate", "split"])
    what, one = ("settings on a split", "setting") if tuned else ("candidates", "candidate")
    text += (f"Stopped: {len(fell)} of {len(units)} {what} ({counts}). " if len(fell) else
             f"No {one} was stopped. ")
    if not tuned:
        text += ("The verdict is among the candidates that got the full budget; the stopped ones are listed "
                 "below them with the rung at which they fell and their score there, outside the verdict. "
                 "The ranking used validation rows that lie in the other splits' test rows; simulated, that keeps "
                 "the verdict's error rate within its level (docs/statistics.md). ")
    text += "Halving can drop a late bloomer, a candidate behind at a rung that would have finished ahead. "
    return text + late_bloomers(tuned)



# How often halving stopped what the exhaustive search ranked high, in the project's benchmark
# (`python -m src.bench --parts all,all_halving` and `tuned,tuned_halving`, 25 epochs, eta 3), on a
# 2-core AMD EPYC, 2026-12-03; docs/comparisons.md gives each run. The grid's four runs (the full
# training set, three 12,000-image subsets) at the default first rung and at an earlier one.
GRID_BENCHMARK = {"first_rung": 4, "runs": 4, "best_stopped": 1, "places": 12, "places_kept": 7, "fell_first": 3,
                  "earlier_rung": 2, "earlier_best_stopped": 2, "earlier_kept": 4}



TUNED_BENCHMARK = {"pairs": 9, "same": 8, "first_rung": 2}



def late_bloomers(tuned):
    """The benchmark's count of late bloomers, as a sentence (`GRID_BENCHMARK`, `TUNED_BENCHMARK`)."""
    if tuned:
        b = TUNED_BENCHMARK
        return (f"In the project's benchmark (the tuned notebook study on MNIST, 25 epochs, the first rung at "
                f"epoch {b['first_rung']}) the halved study chose "
                f"the exhaustive study's learning rate in {b['same']} of its {b['pairs']} (activation, split) pairs.")
    b = GRID_BENCHMARK
    fell = b["places"] - b["places_kept"]
    return (f"In the project's benchmark (grid=all on MNIST, 25 epochs, the first rung at epoch {b['first_rung']}: "
            f"the full training set and three 12,000-image subsets) it happened: the exhaustive search's best "
            f"was stopped in {b['best_stopped']} of {b['runs']} runs, and of the exhaustive top 3's {b['places']} "
            f"places {b['places_kept']} survived; {b['fell_first']} of the {fell} that fell were stopped at the "
            f"first rung. With the first rung at epoch {b['earlier_rung']} the best was stopped in "
            f"{b['earlier_best_stopped']} of {b['runs']} runs and {b['earlier_kept']} of the {b['places']} places "
            f"survived (docs/comparisons.md).")
