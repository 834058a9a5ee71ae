"""Every word the dashboard shows, in simplified Chinese (the default) and English.

One table, so a missing translation is a test failure rather than a blank on a screen. Templates
call `t("key")`; `{name}` placeholders are filled with `str.format`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final, Literal

from xietong.web.i18n_dupes import DUPES_STRINGS
from xietong.web.i18n_forecast import FORECAST_STRINGS
from xietong.web.i18n_lines import LINES_STRINGS
from xietong.web.i18n_wall import WALL_STRINGS
from xietong.web.i18n_work import WORK_STRINGS

Language = Literal["zh", "en"]
LANGUAGES: Final[tuple[Language, ...]] = ("zh", "en")
LANG_COOKIE: Final = "xietong_lang"

# key: (简体中文, English)
STRINGS: Final[dict[str, tuple[str, str]]] = {
    # frame
    "app.name": ("协同 · 全域协同防控指挥系统", "xietong · city-wide coordinated response"),
    "app.short": ("协同", "xietong"),
    "nav.overview": ("态势总览", "Overview"),
    "nav.referrals": ("协查", "Referrals"),
    "nav.board": ("督办看板", "Escalations"),
    "nav.zones": ("风险区", "Risk areas"),
    "nav.resources": ("资源互助", "Mutual aid"),
    "nav.forecast": ("预测与情景", "Forecast"),
    "nav.bulletin": ("每日通报", "Bulletin"),
    "nav.public": ("公众查询", "Public list"),
    "nav.login": ("登录", "Log in"),
    "nav.logout": ("退出", "Log out"),
    "nav.language": ("English", "中文"),
    "frame.data_as_of": ("数据时间：{at}", "Data as of {at}"),
    "frame.data_official": (
        "数据时间：官方公布数据，截至 {day}",
        "Data as of {day}: official published counts",
    ),
    "frame.page_generated": ("页面生成：{at}", "Page generated {at}"),
    "frame.live": ("实时", "live"),
    "frame.live_off": ("实时推送已断开，正在重连", "live updates disconnected, reconnecting"),
    "frame.city": ("全市", "City"),
    "frame.role": ("{role} · {jurisdiction}", "{role} · {jurisdiction}"),
    "frame.no_source": ("暂无数据来源：{what}尚未接入", "No data source yet: {what} is not built"),
    "frame.empty": ("暂无记录", "Nothing to show"),
    "frame.loading": ("加载中…", "Loading…"),
    "frame.filter": ("筛选", "Filter"),
    "frame.all": ("全部", "All"),
    "frame.district": ("区县", "District"),
    "frame.status": ("状态", "Status"),
    "frame.day": ("日期", "Day"),
    "frame.actions": ("操作", "Actions"),
    "frame.page_of": ("第 {first}–{last} 条，共 {total} 条", "{first}–{last} of {total}"),
    "frame.previous": ("上一页", "Previous"),
    "frame.next": ("下一页", "Next"),
    "frame.per_page": ("每页", "Per page"),
    "frame.hours": ("{n} 小时", "{n} h"),
    "frame.minutes": ("{n} 分钟", "{n} min"),
    "frame.overdue_by": ("已超时 {t}", "overdue by {t}"),
    "frame.due_in": ("剩余 {t}", "{t} left"),
    "frame.yes": ("是", "yes"),
    "frame.no": ("否", "no"),
    "frame.total": ("合计", "Total"),
    "frame.submit": ("提交", "Submit"),
    "frame.back": ("返回", "Back"),
    "frame.skip": ("跳到正文", "Skip to the content"),
    "frame.navigation": ("主导航", "Main navigation"),
    "frame.chart_data": ("查看图表数据表", "Show the chart's figures as a table"),
    # roles
    "role.command": ("市指挥部", "Command centre"),
    "role.district_coordinator": ("区指挥部", "District coordinator"),
    "role.lab": ("检测机构", "Laboratory"),
    "role.field_worker": ("流调人员", "Field worker"),
    "role.viewer": ("查看人员", "Viewer"),
    # login
    "login.title": ("登录", "Log in"),
    "login.username": ("用户名", "User name"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "login.failed": ("用户名或密码错误", "Wrong user name or password"),
    "login.public_hint": (
        "公众可直接查看高风险区名单，无需登录。",
        "The public list of high-risk areas needs no login.",
    ),
    # errors
    "error.title": ("无法显示", "Cannot show this page"),
    "error.not_found": ("未找到，或不在您的辖区内。", "Not found, or not in your jurisdiction."),
    "error.forbidden": ("您的角色无权进行此操作。", "Your role may not do this."),
    "error.conflict": (
        "操作与当前状态冲突：{message}",
        "Conflicts with the current state: {message}",
    ),
    "error.invalid": ("输入有误：{message}", "Invalid input: {message}"),
    "error.refused_status": (
        "当前状态为“{status}”，不能进行这一步",
        "it is {status}: this step cannot be taken now",
    ),
    "error.expired_form": (
        "该表单已过期，未执行任何操作。",
        "This form has expired; nothing was done.",
    ),
    "error.next_expired": (
        "请返回原页面，刷新后重新提交。",
        "Go back to the page, reload it and submit again.",
    ),
    "error.next_not_found": (
        "请检查链接，或从上方导航进入所需页面。",
        "Check the link, or open the page you need from the navigation above.",
    ),
    "error.next_forbidden": (
        "导航中只列出您的角色可以打开的页面；如确需此权限，请联系市指挥部。",
        "The navigation lists the pages your role may open; ask the command centre if you "
        "need this one.",
    ),
    "error.next_conflict": (
        "该记录已被他人处理：请返回刷新后查看当前状态。",
        "Someone else has acted on it: go back and reload to see where it stands.",
    ),
    "error.next_invalid": (
        "请返回修改后重新提交。",
        "Go back, correct it and submit again.",
    ),
    "error.go_on": ("回到首页", "Go to the start page"),
    "error.back_to_form": ("返回原页面", "Back to the page"),
    # overview
    "overview.title": ("全域态势总览", "City overview"),
    "overview.map": ("各区县新增社会面感染者", "New surface infections by district"),
    "overview.map_metric": ("{day} 新增社会面", "new on the surface, {day}"),
    "overview.curve": (
        "全市流行曲线（管控内 / 社会面）",
        "Epidemic curve (under control / surface)",
    ),
    "overview.under_control": ("管控内发现", "found under control"),
    "overview.surface": ("社会面发现", "found on the surface"),
    "overview.nowcast": (
        "按采样日（含迟报估计）",
        "by day first sampled (nowcast of late reports)",
    ),
    "overview.nowcast_band": ("迟报估计90%区间", "nowcast, 90 % band"),
    "overview.phase_table": ("各区县阶段与Rt", "Phase and Rt by district"),
    "overview.points": ("点 · 活跃聚集性疫情", "Point · active clusters"),
    "overview.lines": ("线 · 未阻断传播链与跨区外溢", "Line · open chains and spillovers"),
    "overview.surface_panel": ("面 · 社会面与清零天数", "Surface · surface cases and days at zero"),
    "overview.new_today": ("今日新增", "New today"),
    "overview.new_surface": ("社会面", "Surface"),
    "overview.days_zero": ("社会面清零天数", "Days without surface case"),
    "overview.surface_zero_reached": ("已实现社会面清零", "Surface zero reached"),
    "overview.phase": ("阶段", "Phase"),
    "overview.rt": ("Rt（95%区间）", "Rt (95% interval)"),
    "overview.growth": ("倍增时间", "Doubling time"),
    "overview.cluster": ("聚集点", "Cluster"),
    "overview.cases": ("病例数", "Cases"),
    "overview.last_case": ("最近病例", "Last case"),
    "overview.chain": ("传播链", "Chain"),
    "overview.spillover": ("外溢", "Spillover"),
    "overview.from_to": ("{source} → {target}", "{source} → {target}"),
    "overview.new_on": ("{day} 新增", "New on {day}"),
    "overview.city_phase": ("全市阶段（{day}）", "City phase ({day})"),
    "overview.city_rt": ("全市 Rt（{day}，95%区间）", "City Rt ({day}, 95% interval)"),
    "overview.not_enough_data": ("数据不足", "not enough data"),
    "overview.not_reported": ("未报告", "not reported"),
    "overview.partial_day": (
        "{day} 的数据仍在汇入：各项为截至目前之数，阶段与 Rt 亦然。",
        "Data of {day} are still coming in: every figure, phase and Rt included, is so far.",
    ),
    "overview.no_counts": (
        "尚无 {day} 及之前的病例统计。",
        "There are no case counts up to {day} yet.",
    ),
    "overview.no_counts_command": (
        "请刷新每日汇总（按下方按钮），或导入官方公布数据。",
        "Refresh the daily aggregates (the button below), or import the official counts.",
    ),
    "overview.no_counts_others": (
        "每日汇总由市指挥部刷新，请稍后再看或联系市指挥部。",
        "The command centre refreshes the daily aggregates: look again later or ask them.",
    ),
    "overview.refresh": ("刷新每日汇总", "Refresh the daily aggregates"),
    "overview.refreshed": (
        "每日汇总已刷新：{n} 个区县日重新统计。",
        "Daily aggregates refreshed: {n} district-days recounted.",
    ),
    "overview.not_for_role": ("您的角色不能查看病例明细。", "Your role does not see case details."),
    "overview.spillovers_week": ("近7日跨区外溢", "Spillovers in the last 7 days"),
    "overview.last_week": ("近7日", "Last 7 days"),
    "overview.day_picker": ("查看日期", "Day shown"),
    "overview.strip": ("待办", "Waiting on someone"),
    "overview.strip_overdue": ("超时协查", "Overdue referrals"),
    "overview.strip_approvals": ("待审批风险区", "Risk areas awaiting a decision"),
    "phase.surface_zero": ("社会面清零", "surface zero"),
    "phase.rapid_growth": ("快速增长", "rapid growth"),
    "phase.growth": ("增长", "growth"),
    "phase.plateau": ("平台期", "plateau"),
    "phase.decline": ("下降", "decline"),
    "phase.unknown": ("—", "—"),
    # referrals
    "referrals.title": ("协查收件箱", "Referral inbox"),
    "referrals.inbox": ("收到的协查", "Received"),
    "referrals.outbox": ("发出的协查", "Sent"),
    "referrals.board": ("督办看板：超时与上报", "Board: overdue and escalated referrals"),
    "referrals.id": ("编号", "No."),
    "referrals.person": ("人员", "Person"),
    "referrals.reason": ("原因", "Reason"),
    "referrals.from": ("推送区", "From"),
    "referrals.to": ("接收区", "To"),
    "referrals.opened": ("推送时间", "Pushed"),
    "referrals.sla": ("时限", "Deadline"),
    "referrals.feedback": ("反馈", "Feedback"),
    "referrals.acknowledge": ("签收", "Acknowledge"),
    "referrals.locate": ("确认已找到", "Mark located"),
    "referrals.control": ("确认已管控", "Mark controlled"),
    "referrals.close": ("反馈并办结", "Close with feedback"),
    "referrals.feedback_placeholder": ("反馈内容（必填）", "Feedback (required)"),
    "referrals.new_arrived": ("新协查已到达", "A new referral has arrived"),
    "referrals.pair": ("区县对", "District pair"),
    "referrals.overdue": ("超时", "Overdue"),
    "referrals.escalated": ("已上报", "Escalated"),
    "referrals.open": ("办理中", "Open"),
    "referrals.choose_district": ("选择区县", "Choose a district"),
    "referrals.one": ("协查 #{id}", "Referral #{id}"),
    "referrals.box_inbox": ("收件箱", "Inbox"),
    "referrals.box_outbox": ("发出的协查", "Sent"),
    "referrals.box_overdue": ("超时未办", "Overdue"),
    "referrals.box_escalated": ("已上报", "Escalated"),
    "referrals.box_due_soon": ("一小时内到期", "Due within an hour"),
    "referrals.box_all": ("全部协查", "All referrals"),
    "referrals.filter_open": ("办理中", "open"),
    "referrals.filter_all": ("全部", "all"),
    "referrals.filter_pushed": ("待签收", "awaiting acknowledgement"),
    "referrals.filter_acknowledged": ("已签收", "acknowledged"),
    "referrals.filter_located": ("已找到", "located"),
    "referrals.filter_controlled": ("已管控", "controlled"),
    "referrals.filter_closed": ("已办结", "closed"),
    "referrals.filter_declined": ("已退回", "declined"),
    "referrals.other_district": ("对方区县", "Other district"),
    "referrals.hop": ("第 {n} 次转推", "hop {n}"),
    "referrals.evidence": ("依据", "Evidence"),
    "referrals.ack_due": ("签收时限", "Acknowledge by"),
    "referrals.control_due": ("找到并管住时限", "Locate and control by"),
    "referrals.note": ("备注", "Note"),
    "referrals.decline_reason": ("退回原因", "Reason for declining"),
    "referrals.policy": ("政策版本", "Policy version"),
    "referrals.decline": ("退回 / 转推", "Decline / push on"),
    "referrals.reassign": ("改派", "Reassign"),
    "referrals.person_hidden": (
        "签收后可见人员信息；推送区只看到办理状态与反馈。",
        "The person's details show once acknowledged; "
        "the sending district sees status and feedback.",
    ),
    "referrals.chain": ("推送链", "Hand-over chain"),
    "referrals.ended": ("结束", "Ended"),
    "referrals.history": ("办理记录", "History"),
    "referrals.actor": ("操作人", "By"),
    "referrals.overdue_by_receiver": (
        "各接收区超时协查",
        "Overdue referrals by receiving district",
    ),
    "referrals.oldest_deadline": ("最早超时时限", "Oldest deadline"),
    "reason.pooled_positive": ("混管阳性", "pooled positive"),
    "reason.positive": ("阳性", "positive"),
    "reason.close_contact": ("密接", "close contact"),
    "reason.left_high_risk_area": ("外溢人员", "left a high-risk area"),
    "reason.manual": ("人工推送", "pushed by hand"),
    "status.pushed": ("待签收", "awaiting acknowledgement"),
    "status.declined": ("已退回", "declined"),
    "status.acknowledged": ("已签收", "acknowledged"),
    "status.located": ("已找到", "located"),
    "status.controlled": ("已管控", "controlled"),
    "status.closed": ("已办结", "closed"),
    "status.proposed": ("待审批", "proposed"),
    "status.active": ("生效中", "active"),
    "status.lifting_proposed": ("待解封", "lifting proposed"),
    "status.lifted": ("已解封", "lifted"),
    "status.rejected": ("已驳回", "rejected"),
    "status.approved": ("已批准", "approved"),
    "status.superseded": ("已被替代", "superseded"),
    # a referral's history: what each step did (the state words are the statuses' own)
    "event.pushed": ("推送", "pushed"),
    "event.acknowledged": ("签收", "acknowledged"),
    "event.located": ("已找到", "located"),
    "event.controlled": ("已管控", "controlled"),
    "event.closed": ("已办结", "closed"),
    "event.declined": ("已退回", "declined"),
    "event.rerouted": ("转推", "pushed on"),
    "event.reassigned": ("改派", "reassigned"),
    "event.escalated": ("已上报", "escalated"),
    "event.overdue": ("超时", "overdue"),
    # where the figures of a page come from
    "source.aggregates": ("系统每日汇总", "the system's daily aggregates"),
    "source.official": ("官方公布数据", "official published counts"),
    "source.facts": ("系统实时记录", "the system's own records"),
    "source.growth_recalibrated": (
        "经回测的预测（增长预测按以往误差校准）",
        "the backtested forecast (the growth forecast recalibrated by its past misses)",
    ),
    # plans stored when the transmission model's ensemble projected the demand
    "source.forecast_model": ("传播模型（未经回测）", "the transmission model (not backtested)"),
    "source.forecast_given": ("给定预测", "a given forecast"),
    "source.trend": ("近期趋势", "the recent trend"),
    "source.recent_mean": ("近期均值", "the recent mean"),
    "source.none": ("无", "none"),
    # building kinds (clusters)
    "building.residential": ("住宅", "residential"),
    "building.workplace": ("工作场所", "workplace"),
    "building.venue": ("公共场所", "venue"),
    "building.school": ("学校", "school"),
    "building.facility": ("设施", "facility"),
    # what held a case under control when it was found
    "control.quarantine_order": ("隔离管控中", "under a quarantine order"),
    "control.held": ("混管待复核", "held as a pool member"),
    "control.high_risk_area": ("高风险区内", "inside a high-risk area"),
    # notes the services write, shown in the reader's language
    "note.close_contact": ("病例 {case} 的密接", "close contact of case {case}"),
    "note.close_contact_by": (
        "病例 {case} 的密接，{user} 登记",
        "close contact of case {case}, registered by {user}",
    ),
    "note.surface_infection": ("{day} 发现社会面感染", "surface infection found on {day}"),
    # zones
    "zones.title": ("高风险区", "High-risk areas"),
    "zones.map": ("高风险区分布", "Where the high-risk areas are"),
    "zones.building": ("楼栋", "Building"),
    "zones.address": ("地址", "Address"),
    "zones.since": ("划定日期", "Designated"),
    "zones.clean_days": ("连续无新增天数", "Clean days"),
    "zones.lifting_in": ("预计解封", "Lifting"),
    "zones.lifting_countdown": ("还需 {n} 天", "in {n} days"),
    "zones.lifting_due": ("可提请解封", "due for lifting"),
    "zones.approve": ("批准", "Approve"),
    "zones.reject": ("驳回", "Reject"),
    "zones.approve_lifting": ("批准解封", "Approve lifting"),
    "zones.proposals": ("待审批的划定与解封", "Proposals awaiting a decision"),
    "zones.public_title": ("高风险区名单（公众）", "High-risk areas (public list)"),
    "zones.public_note": (
        "本名单仅列出楼栋地址与划定、预计解封日期，不含任何个人信息。",
        "This list shows building addresses and dates only; it holds no personal data.",
    ),
    "zones.reason": ("理由", "Reason"),
    "zones.keep_locked": ("暂不解封", "Keep locked"),
    "zones.origin": ("来源", "Origin"),
    "origin.surface_case": ("社会面病例自动提请", "proposed on a surface case"),
    "origin.user": ("人工提请", "proposed by hand"),
    "origin.designation": ("直接划定", "designated directly"),
    "zones.filter_open": ("未结束", "open"),
    "zones.filter_all": ("全部", "all"),
    "zones.filter_proposed": ("待审批", "proposed"),
    "zones.filter_rejected": ("已驳回", "rejected"),
    "zones.filter_active": ("生效中", "active"),
    "zones.filter_lifting_proposed": ("待解封", "lifting proposed"),
    "zones.filter_lifted": ("已解封", "lifted"),
    "zones.earliest_lifting": ("最早解封日期", "Earliest lifting"),
    "zones.public_rule": (
        "连续 {days} 天无新增感染且核酸筛查阴性即解封（政策版本 {version}，名单日期 {day}）。",
        "Lifted after {days} clean days with negative screening (policy {version}, list of {day}).",
    ),
    "zones.public_none": ("目前没有高风险区。", "There are no high-risk areas now."),
    "zones.all_proposals": ("查看全部 {n} 个待审批", "All {n} proposals"),
    "zones.count": ("当前高风险区 {n} 个", "{n} high-risk areas now"),
    # resources
    "resources.title": ("资源互助", "Mutual aid of resources"),
    "resources.beds": ("隔离床位", "Quarantine beds"),
    "resources.lab": ("检测能力（管/日）", "Laboratory (tubes a day)"),
    "resources.demand": ("需求", "Demand"),
    "resources.capacity_short": ("能力", "Capacity"),
    "resources.gap": ("缺口", "Shortfall"),
    "resources.plan": ("互助方案", "Mutual-aid plan"),
    "resources.lender": ("支援方", "Lends"),
    "resources.borrower": ("受援方", "Receives"),
    "resources.amount": ("数量", "Amount"),
    "resources.kind": ("类别", "Kind"),
    "resource.centralised_quarantine_bed": ("集中隔离床位", "centralised quarantine beds"),
    "resource.makeshift_hospital_bed": ("方舱床位", "makeshift hospital beds"),
    "resource.home_isolation_place": ("居家隔离", "home isolation places"),
    "resource.lab_tube": ("检测管数", "laboratory tubes"),
    "resources.only_shortages": ("仅看缺口", "Shortages only"),
    "resources.demand_source": ("需求来源：{source}", "demand from: {source}"),
    "resources.plan_quantile": (
        "按预测的第 {p} 百分位制定",
        "built on the forecast's {p}th percentile",
    ),
    # The demand is the forecast page's forecast of the same history, read at the policy's level.
    "resources.demand_quantile": (
        "按预测页所示预测的第 {p} 百分位计划（由现行政策设定）",
        "planned on the {p}th percentile of the forecast the forecast page shows (set by the "
        "policy in force)",
    ),
    "resources.plan_totals": ("调配 {moved}，仍缺 {unmet}", "{moved} moved, {unmet} still short"),
    "resources.no_transfers": ("无需调配", "No transfers needed"),
    "resources.shortages_left": (
        "方案执行后仍有 {n} 处缺口",
        "{n} shortages remain after the plan",
    ),
    "resources.no_proposed_plan": ("暂无待批准的互助方案。", "No plan awaits approval."),
    "resources.recent_plans": ("近期方案", "Recent plans"),
    "resources.table": ("能力与需求明细", "Capacity and demand, district by day"),
    "resources.in_use": ("已占用", "In use"),
    "resources.arrivals": ("新增需求", "Arrivals"),
    "resources.approve": ("批准方案", "Approve plan"),
    "resources.propose": ("生成方案", "Propose a plan"),
    # bulletin
    "bulletin.title": ("每日疫情通报", "Daily bulletin"),
    "bulletin.copy": ("复制全文", "Copy text"),
    "bulletin.copied": ("已复制", "Copied"),
    "bulletin.download": ("下载", "Download"),
    "bulletin.language": ("通报语言", "Bulletin language"),
    "bulletin.period": ("统计时段", "Period"),
    "bulletin.hour": ("时", "h"),
    "bulletin.lang_zh_Hans": ("简体中文", "Simplified Chinese"),
    "bulletin.lang_zh_Hant": ("繁體中文", "Traditional Chinese"),
    "bulletin.lang_en": ("英文", "English"),
    "bulletin.unavailable": (
        "无法生成该时段的通报：尚无该日的病例统计。请选择更早的日期，或待每日汇总刷新后再看。",
        "No bulletin can be made for this period: there are no counts of that day yet. Choose "
        "an earlier day, or look again once the daily aggregates are refreshed.",
    ),
    "bulletin.source": ("数据来源：{source}", "figures from: {source}"),
    "bulletin.confirmed": ("新增确诊", "New confirmed"),
    "bulletin.asymptomatic": ("新增无症状", "New asymptomatic"),
    "bulletin.conversions": ("无症状转确诊", "Conversions"),
    # persons
    "person.title": ("人员信息", "Person"),
    "person.id_masked": ("证件号（脱敏）", "National ID (masked)"),
    "person.name": ("姓名", "Name"),
    "person.phone": ("电话", "Phone"),
    "person.birth": ("出生日期", "Born"),
    "person.sex": ("性别", "Sex"),
    "person.residence": ("居住地（责任区）", "Residence (responsible district)"),
    "person.current": ("当前所在地", "Where the person is"),
    "person.risk": ("风险状态", "Risk status"),
    "person.in_high_risk_area": ("在高风险区内", "inside a high-risk area"),
    "person.not_in_high_risk_area": ("不在高风险区", "not in a high-risk area"),
    "person.risk_level": ("风险等级", "Risk level"),
    "person.screening": ("核酸频次", "Screening"),
    "person.every_days": ("每 {n} 天一检", "every {n} days"),
    "person.single_tube": ("单采单检", "single tube"),
    "level.high": ("高风险", "high risk"),
    "level.low": ("低风险", "low risk"),
    "sex.M": ("男", "male"),
    "sex.F": ("女", "female"),
    "person.audited": (
        "本次查看已记入审计日志。",
        "This view has been written to the audit trail.",
    ),
    **WORK_STRINGS,
    **LINES_STRINGS,
    **WALL_STRINGS,
    **DUPES_STRINGS,
    **FORECAST_STRINGS,
}


def label(lang: Language, prefix: str, value: str) -> str:
    """A domain's value (a status, a reason) in words; an unknown value is shown as it is."""
    key = f"{prefix}.{value}"
    return translate(lang, key) if key in STRINGS else value


# Notes the services write in one fixed form (`flows.referrals`, `cases.contacts`,
# `zones.service`): recognised here, so a reader sees them in the page's language.
_NOTES: Final = (
    (
        re.compile(r"^close contact of case (?P<case>\d+), registered by (?P<user>.+)$"),
        "note.close_contact_by",
    ),
    (re.compile(r"^close contact of case (?P<case>\d+)$"), "note.close_contact"),
    (
        re.compile(r"^surface infection found on (?P<day>\d{4}-\d{2}-\d{2})$"),
        "note.surface_infection",
    ),
)
LIST_SEPARATOR: Final[dict[Language, str]] = {"zh": "、", "en": ", "}


def note(lang: Language, text: str | None) -> str:
    """A stored note in `lang` when a service wrote it; a person's own words as they wrote them."""
    if not text:
        return ""
    for pattern, key in _NOTES:
        matched = pattern.match(text)
        if matched:
            return translate(lang, key, **matched.groupdict())
    return text


_ROW_PATTERNS: Final = (
    (re.compile(r"^must be between (?P<low>\S+) and (?P<high>\S+)$"), "row.must be between"),
    (re.compile(r"^unknown column \(expected some of (?P<known>.+)\)$"), "row.unknown column"),
    (re.compile(r"^line (?P<n>\d+)$"), "row.line"),
    (re.compile(r"^no referral \d+$"), "row.no referral"),
    (re.compile(r"^longer than (?P<n>\d+) characters$"), "row.longer than"),
    (re.compile(r"^at most (?P<n>[\d,]+) at once$"), "row.at most at once"),
)


def row_reason(lang: Language, text: str) -> str:
    """Why a row of a file was refused (or which line it is), in `lang` when the intake wrote
    it; any other reason as it is."""
    if f"row.{text}" in STRINGS:
        return translate(lang, f"row.{text}")
    for pattern, key in _ROW_PATTERNS:
        matched = pattern.match(text)
        if matched:
            return translate(lang, key, **matched.groupdict())
    return text


def join_list(lang: Language, items: Iterable[str], names: Mapping[str, str] | None = None) -> str:
    """Items of a list in running text (each by its name in `names`, if given): 渝中区、江北区 in
    Chinese, Yuzhong, Jiangbei in English."""
    shown = (names.get(item, item) if names else item for item in items)
    return LIST_SEPARATOR[lang].join(shown)


def pick_language(query: str | None, cookie: str | None) -> Language:
    """`?lang=` wins, then the cookie, then simplified Chinese."""
    for candidate in (query, cookie):
        if candidate == "en":
            return "en"
        if candidate == "zh":
            return "zh"
    return "zh"


def translate(lang: Language, key: str, **values: object) -> str:
    """The text of `key` in `lang`; an unknown key raises (tests render every page)."""
    zh, en = STRINGS[key]
    text = en if lang == "en" else zh
    return text.format(**values) if values else text
