"""Prediction over a Ray cluster: one Ray actor per shard, each holding its own backend.

``predict_with_ray(config, workers=N)`` starts N actors (``num_cpus`` / ``num_gpus`` each),
actor ``i`` runs :func:`~paperpred.runs.predict.predict_into_run` with ``shard: i/N`` (its own
journal under ``<run folder>/shards/``, so a lost actor's shard resumes when the run is started
again), then :func:`~paperpred.runs.predict.merge_shards` writes the run folder: every paper
exactly once, the same predictions as one process. The run folder must be on a file system
that every node sees (on one machine it is). Needs ``pip install 'paperpred[ray]'``.
"""

from __future__ import annotations

from typing import Any

from paperpred.batch import journal_path, read_journal
from paperpred.errors import PaperpredError
from paperpred.runs.config import PredictRun, load_config
from paperpred.runs.predict import Echo, _quiet, merge_shards, predict_into_run
from paperpred.runs.shards import parse_shard, shard_dir


def _shard_worker(config_data: dict[str, Any], shard: str) -> dict[str, Any]:
    """What an actor runs: one shard of the run (plain data in, plain data out)."""
    config = load_config(PredictRun, None, {**config_data, "shard": shard})
    predict_into_run(config, show_progress=False)
    folder = shard_dir(config.run_dir(), *parse_shard(shard))
    return {"shard": shard, "n": len(read_journal(journal_path(folder / "predictions.json")))}


def predict_with_ray(config: PredictRun, workers: int, address: str | None = None,
                     cpus_per_worker: float = 1.0, gpus_per_worker: float = 0.0,
                     echo: Echo = _quiet) -> dict[str, Any]:
    """Predict ``config``'s papers with ``workers`` Ray actors, then merge.

    Args:
        config: the run (its ``shard`` must be unset: the actors take one each).
        workers: actors, one shard each.
        address: a running cluster (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``);
            None starts a local one for this process.
        cpus_per_worker, gpus_per_worker: each actor's resources (a GPU each for vLLM).

    Returns:
        The merged run's metrics.
    """
    try:
        import ray
    except ImportError:
        raise PaperpredError("Ray is not installed: pip install 'paperpred[ray]'") from None
    if config.shard:
        raise PaperpredError("predict_with_ray takes the whole run; drop shard")
    if workers < 1:
        raise PaperpredError(f"workers must be at least 1, got {workers}")
    config.resolve()
    data = config.to_dict()
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        resources = ray.cluster_resources()
        echo(f"[paperpred] Ray: {len(ray.nodes())} nodes, {resources.get('CPU', 0):g} CPUs, "
             f"{resources.get('GPU', 0):g} GPUs; {workers} workers")
        actor = ray.remote(num_cpus=cpus_per_worker, num_gpus=gpus_per_worker,
                           max_restarts=0)(_Actor)
        actors: list[Any] = [actor.remote() for _ in range(workers)]
        done = ray.get([a.run.remote(data, f"{i}/{workers}") for i, a in enumerate(actors)])
        for item in done:
            echo(f"[paperpred] shard {item['shard']}: {item['n']} papers on node "
                 f"{item['node']}")
        nodes = sorted({item["node"] for item in done})
    finally:
        if started_here:
            ray.shutdown()
    return merge_shards(config.run_dir(), echo=echo,
                        provenance={"ray_workers": workers, "ray_nodes": nodes})


class _Actor:
    """A Ray actor: runs shards of a run in its own process (and holds its backend there)."""

    def run(self, config_data: dict[str, Any], shard: str) -> dict[str, Any]:
        import ray

        result = _shard_worker(config_data, shard)
        result["node"] = ray.get_runtime_context().get_node_id()[:8]
        return result

