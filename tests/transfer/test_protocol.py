"""The benchmarks' own splits (DisenCDR, CDRIB) and the papers' sampled protocol, end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from xcat.cli import main
from xcat.data.datasets import (
    load_amazon2014_5core,
    load_cdrib_amazon_coldstart,
    load_disencdr_amazon,
)
from xcat.workflow.experiment import ExperimentConfig
from xcat.transfer.protocol import published_protocol


def test_cdrib_published_split_matches_the_files(data_dir):
    data = load_cdrib_amazon_coldstart("video", "game", root=data_dir)
    p = published_protocol(data)
    # counts from ../shared/data/README.md (game_video = Toys & Games)
    assert p.info["valid_rows"] == 1_381 and p.info["test_rows"] == 1_304
    assert p.info["target_train_rows"] == 155_036 and p.info["target_items"] == 12_319
    assert p.info["source_rows"] == 156_091  # video_game/train.txt only
    assert len(p.test_all.users) == 212 and p.test_all.truth.nnz == 1_304
    # every CDRIB test user is a cold-start user of the target
    assert np.array_equal(p.test_cold.users, p.test_all.users)
    assert p.test_all.exclude.nnz == 0
    assert p.info["validation"] == "published valid file"
    valid = p.data.validation()
    assert valid is not None and len(valid.users) == 213
    # the source's own held-out rows (another direction's test) are not trained on
    assert set(p.data.source.data["split"]) == {"train"}


def test_disencdr_published_split_holds_validation_out_of_train(data_dir):
    data = load_disencdr_amazon("sport", "cloth", root=data_dir)
    p = published_protocol(data, valid_fraction=0.1, seed=0)
    # cloth_sport/: 7,540 test rows evaluated, 9,928 - 7,540 test_cold_item rows left out
    assert p.info["test_rows"] == 7_540
    assert p.info["excluded_target_rows"] == 9_928 - 7_540
    assert p.info["excluded_labels"] == ["test_cold_item"]
    # validation: one training row from 10 % of eligible users, removed from train
    assert p.info["valid_rows"] + p.info["target_train_rows"] == 87_829
    assert p.info["valid_rows"] == len(set(p.data.target_valid.data["user"]))
    assert 0.09 < p.info["valid_rows"] / 9_928 < 0.11

    def pairs(inter):
        return set(zip(inter.data["user"], inter.data["item"], strict=True))

    # DisenCDR's train files have no duplicate rows, so a held-out row is gone from train
    assert not pairs(p.data.target_train) & pairs(p.data.target_valid)
    # all DisenCDR users are shared and warm: no cold-start group
    assert len(p.test_cold.users) == 0 and p.info["warm_test_users"] == 7_540
    # the same seed gives the same validation rows
    again = published_protocol(data, valid_fraction=0.1, seed=0)
    assert again.data.target_valid.data.equals(p.data.target_valid.data)


def test_published_protocol_needs_a_split_column(data_dir):
    data = load_amazon2014_5core("beauty", "toys", root=data_dir)
    with pytest.raises(ValueError, match="split"):
        published_protocol(data)
    with pytest.raises(ValueError, match="protocol"):
        ExperimentConfig(protocol="papers")
    assert ExperimentConfig(protocol="published").n_sampled_negatives == 999
    assert ExperimentConfig().n_sampled_negatives == 0


def test_quickstart_published_cdrib_reports_full_ranking_and_sampled(tmp_path, data_dir):
    run_dir = tmp_path / "cdrib"
    result = CliRunner().invoke(
        main,
        [
            "quickstart",
            "--data",
            "cdrib:video:game",
            "--data-dir",
            str(data_dir),
            "--protocol",
            "published",
            "--sample-users",
            "1500",
            "--strategies",
            "freeze",
            "--epochs",
            "2",
            "--pretrain-epochs",
            "2",
            "--threads",
            "2",
            "--out",
            str(run_dir),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "Sampled protocol" in result.output and "999 seeded random negatives" in result.output
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # CDRIB's test users are all cold-start: no warm group
    assert set(metrics["scratch"]) == {"all", "cold-start"}
    assert metrics["scratch"]["all"]["users"] == 212
    sampled = metrics["sampled"]
    assert set(sampled) == {"popularity", "scratch", "freeze"}
    assert sampled["freeze"]["n_pairs"] == 1_304 and sampled["freeze"]["n_negatives"] == 999
    # a random ranking hits 10 of 1,000 candidates: the transferred model must do better
    assert sampled["freeze"]["values"]["HR@10"] > 0.02
    assert sampled["freeze"]["values"]["MRR"] > sampled["freeze"]["values"]["HR@1"] > 0
    report = (run_dir / "report.md").read_text()
    assert "## Sampled protocol" in report and "| freeze | 1304 |" in report
    assert "NDCG@20" in report and "MAP@5" in report  # every cut-off, not only @10
