"""Chinese questions reaching papers through their English text (CC-CEDICT glosses). No model."""
from __future__ import annotations


def test_a_chinese_question_finds_a_paper_that_has_no_chinese_summary(fresh_app):
    """End to end (real model, store, answerer): the paper's Chinese sections all failed."""
    from pathlib import Path

    fresh_app.ingest([Path(__file__).parents[1] / "fixtures" / "no_summary.md"])
    result = fresh_app.ask("哪篇论文用门票预约数据预测世博会每天的参观人数？")
    assert not result.refused and result.cited_ids == ["2601.90101"]
    control = fresh_app.ask("有没有研究用带先验的回归模型评估NBA篮球阵容？")
    assert not control.refused and control.cited_ids == ["2601.90102"]
    assert fresh_app.ask("有没有论文研究用无人机检测森林火灾？").refused
