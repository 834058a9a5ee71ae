"""The words of the forecast page and of the overview's forecast band, in simplified Chinese and
English: what is expected (the backtested forecast) and the scenarios of the transmission model,
each named as what it is; `web.i18n` merges them into its one table."""

from __future__ import annotations

from typing import Final

# key: (简体中文, English)
FORECAST_STRINGS: Final[dict[str, tuple[str, str]]] = {
    "forecast.title": ("预测与情景", "Forecast and scenarios"),
    "forecast.expected": ("预期走势：经回测的预测", "What is expected: the backtested forecast"),
    "forecast.expected_median": ("预期（中位数）", "expected (median)"),
    "forecast.expected_method": (
        "增长预测按其以往误差以共形区间校准，即回测所评分的预测：未来 {n} 日每日新增感染的"
        "中位数及 50%、90% 区间，依据{series}。",
        "The growth forecast recalibrated by conformal intervals from its own past misses, "
        "the forecast the backtests score: new infections each day over the next {n} days, "
        "median with 50% and 90% bands, from {series}.",
    ),
    "forecast.series.nowcast": (
        "按首次采样日计的病例（最近几日由迟报估计补全）",
        "cases by the day first sampled (the last days completed by the nowcast)",
    ),
    "forecast.series.reported": ("按报告日计的每日汇总", "the daily aggregates by day reported"),
    "forecast.series.official": ("官方公布数据", "the official counts"),
    "forecast.capped": (
        "任何分位数都不超过该区县尚余的易感人口。阴影：50% 与 90% 区间；柱：实际新增。",
        "No quantile exceeds the susceptibles a district still holds. Shaded: 50% and 90% "
        "bands; bars: new infections.",
    ),
    "forecast.scenarios": ("情景比较：传播模型", "Scenarios: the transmission model"),
    "forecast.scenarios_note": (
        "情景用传播模型在相同随机数下比较不同措施，说明措施的差别；其区间未经回测，不是预期。"
        "预期见“经回测的预测”。",
        "Scenarios compare measures on the transmission model with the same random numbers: "
        "they say what a measure changes. Their bands are not backtested and are not what is "
        "expected; that is the backtested forecast.",
    ),
    "forecast.observed": ("实际", "observed"),
    "forecast.band": ("{level}% 区间", "{level}% band"),
    "forecast.horizon": ("情景天数", "Scenario days"),
    "forecast.from_day": ("以 {day} 为最后观测日", "observed up to {day}"),
    "forecast.last_day": ("最后观测日", "Last observed day"),
    "forecast.parameters": (
        "情景：{runs} 次模拟 · 数据来源 {source} · 政策 {version}",
        "Scenarios: {runs} runs · data from {source} · policy {version}",
    ),
    "forecast.scenario": ("情景", "Scenario"),
    "forecast.total": ("{n} 日内感染（中位数，90%区间）", "Infections in {n} days (median, 90%)"),
    "forecast.averted": ("较基线减少", "Averted vs baseline"),
    "forecast.by_district": (
        "各区县预期：经回测的预测",
        "Expected by district: the backtested forecast",
    ),
    "forecast.day_median": ("第 {n} 日新增（中位数）", "New on day {n} (median)"),
    "forecast.day_bands": ("第 {n} 日 50% / 90% 区间", "Day {n}: 50% / 90% bands"),
    "forecast.susceptible": ("尚余易感人口", "Still susceptible"),
    "forecast.own_growth": ("自身增长的权重", "Weight of its own growth"),
    "forecast.leans_on_city": ("主要参照全市", "leans on the city's"),
    "forecast.own_growth_note": (
        "各区县的增长率按其近 7 日数据的精确程度向全市增长率收缩：病例多的区县沿用自身增长，"
        "病例少、波动大的区县主要参照全市增长（权重低于 50%），但从不照搬全市。",
        "Each district's growth rate is drawn towards the city's by how precisely its own last "
        "7 days measure it: a district of many cases keeps its own growth, one of few and "
        "uneven cases leans on the city's (a weight under 50%), never copying it.",
    ),
    "scenario.baseline": ("现行政策（基线）", "Policy in force (baseline)"),
    "scenario.screening_every_day": ("每天一检", "Screening every day"),
    "scenario.isolation_delay": ("隔离延迟 {n} 天", "Isolation {n} days later"),
    "scenario.mobility_cut": ("{district}减少流动", "Less travel from {district}"),
    "scenario.lift_after": ("连续 {n} 天无新增解封", "Lift after {n} clean days"),
    "overview.expected": (
        "预期（经回测的预测，中位数）",
        "expected (the backtested forecast, median)",
    ),
    "overview.expected_note": (
        "虚线及阴影：未来 {n} 日的经回测的预测（增长预测按以往误差以共形区间校准），中位数及"
        "50%、90% 区间。措施的情景比较见",
        "Dashed, shaded: the backtested forecast of the next {n} days (the growth forecast "
        "recalibrated by conformal intervals from its past misses), median with 50% and 90% "
        "bands. Scenarios of measures:",
    ),
    "overview.expected_band": ("预期 {level}% 区间", "expected, {level}% band"),
}
