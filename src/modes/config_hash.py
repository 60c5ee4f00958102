"""A config's hash: what a job computes, not how fast it runs, so that a re-run sweep finds its finished jobs."""
import hashlib
import json

from omegaconf import OmegaConf


# Settings that decide how fast a job runs, not what it computes: left out of the hash, so
# that a sweep resumed with another launcher or thread count still finds its results.
EXECUTION_KEYS = ("train.threads", "train.verbose", "cv.n_jobs", "search.backend", "search.scheduler",
                  "data.download", "lock", "train.checkpoint_every")


def config_hash(cfg):
    """A short digest of a job's composed config: what it computes, not where or how fast.

    The ``hydra`` node (output paths, launcher) and `EXECUTION_KEYS` are left out.
    """
    plain = OmegaConf.to_container(cfg, resolve=True)
    plain.pop("hydra", None)
    for dotted in EXECUTION_KEYS:
        *parents, leaf = dotted.split(".")
        node = plain
        for parent in parents:
            node = node.get(parent) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    text = json.dumps(plain, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()
