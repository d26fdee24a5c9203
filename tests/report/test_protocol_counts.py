"""Sample counts and step counts that rows carry as protocol (n_fake, w_indep_steps, modes_n, ...) are not
quality measures: the report does not tabulate or correlate them, in runs that declare their keys and in
runs written before they did (read with bench.report.legacy)."""

from bench.metrics.registry import declarations
from bench.report.measures import Measures


def test_protocol_counts_are_not_quality_measures():
    keys = ["fid", "n_fake", "n_real", "w1_exact_feat", "w1_feat_n", "w_indep", "w_indep_steps", "w_indep_n",
            "modes", "modes_kl", "modes_n"]
    assert Measures.legacy().quality_keys(keys) == ["fid", "w1_exact_feat", "w_indep", "modes", "modes_kl"]
    declared = Measures.of_records([{"metric_keys": declarations("image")}])
    assert sorted(declared.quality_keys(keys)) == sorted(["fid", "w1_exact_feat", "w_indep", "modes", "modes_kl"])
