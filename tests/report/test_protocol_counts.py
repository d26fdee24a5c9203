"""Sample counts and step counts that rows carry as protocol (n_fake, w_indep_steps, modes_n, ...) are not
quality measures: the report does not tabulate or correlate them."""

from bench.report.measures import quality_keys


def test_protocol_counts_are_not_quality_measures():
    keys = ["fid", "n_fake", "n_real", "w1_exact_feat", "w1_feat_n", "w_indep", "w_indep_steps", "w_indep_n",
            "modes", "modes_kl", "modes_n"]
    assert quality_keys(keys) == ["fid", "w1_exact_feat", "w_indep", "modes", "modes_kl"]
