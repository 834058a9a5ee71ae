"""The words of the points-and-lines lists (close contacts, quarantine orders, clusters), in
simplified Chinese and English; `web.i18n` merges them into its one table."""

from __future__ import annotations

from typing import Final

# key: (简体中文, English)
LINES_STRINGS: Final[dict[str, tuple[str, str]]] = {
    "nav.contacts": ("密接", "Contacts"),
    "nav.quarantine": ("隔离", "Quarantine"),
    "nav.clusters": ("聚集疫情", "Clusters"),
    # close contacts
    "contacts.title": ("密切接触者", "Close contacts"),
    "contacts.residence_district": ("居住区县", "Home district"),
    "contacts.day": ("登记日期", "Registered on"),
    "contacts.contact": ("密接", "Contact"),
    "contacts.registered": ("登记时间", "Registered"),
    "contacts.bed": ("隔离点", "Facility"),
    "contacts.person": ("人员 #{id}", "Person #{id}"),
    "contacts.unidentified": ("身份待核实", "not yet identified"),
    # quarantine orders (a contact's status is its order's)
    "quarantine.title": ("隔离管控", "Quarantine orders"),
    "quarantine.order": ("隔离单", "Order"),
    "quarantine.one": ("隔离单 #{id}", "Order #{id}"),
    "quarantine.home_from": ("{day} 起居家隔离", "at home from {day}"),
    "quarantine.bed_from": ("{day} 入住", "in bed from {day}"),
    "order.all": ("全部", "all"),
    "order.active": ("隔离中", "in quarantine"),
    "order.waiting": ("待分配床位", "awaiting a bed"),
    "order.released": ("已解除", "released"),
    "order.became_case": ("已转为病例", "became a case"),
    "order.cancelled": ("已撤销", "cancelled"),
    # clusters (points)
    "clusters.title": ("聚集性疫情", "Clusters"),
    "clusters.cluster": ("聚集", "Cluster"),
    "clusters.one": ("聚集 #{id}", "Cluster #{id}"),
    "clusters.days": ("病例日期", "Case days"),
    "clusters.cases": ("病例数", "Cases"),
    "clusters.closes_on": ("无新增至此日则结束", "Closes if quiet until"),
    "clusters.members": ("所含病例", "Its cases"),
    "clusters.place_role": ("关联方式", "Place"),
    "clusters.confirm": ("确认聚集", "Confirm the cluster"),
    "clusters.reject": ("否定聚集", "Reject the cluster"),
    "clusters.note": ("理由（可选）", "Reason (optional)"),
    "clusters.in": ("所属聚集", "Cluster"),
    "clusters.filter_all": ("全部", "all"),
    "clusters.filter_proposed": ("待确认", "proposed"),
    "clusters.filter_active": ("活跃", "active"),
    "clusters.filter_confirmed": ("已确认", "confirmed"),
    "clusters.filter_rejected": ("已否定", "rejected"),
    "clusters.filter_closed": ("已结束", "closed"),
    "cluster.proposed": ("待确认", "proposed"),
    "cluster.confirmed": ("已确认", "confirmed"),
    "cluster.rejected": ("已否定", "rejected"),
    "cluster.active": ("活跃", "active"),
    "cluster.closed": ("已结束", "closed"),
    "confirm.cluster_confirm": (
        "确认将这些病例认定为一起聚集？",
        "Confirm these cases as one cluster?",
    ),
    "confirm.cluster_reject": ("确认否定该聚集？", "Reject this cluster?"),
    "place.residence": ("同住楼栋", "home"),
    "place.found": ("发现地", "where found"),
    "place.workplace": ("工作单位", "workplace"),
    "place.venue": ("到访场所", "venue"),
    "place.visited": ("曾到访", "visited"),
    "place.traced": ("流调关联", "linked by tracing"),
    # line lists
    "linelist.title": ("导入流调名单", "Import a line list"),
    "linelist.open": ("导入流调名单（病例、密接）", "Import a line list (cases, contacts)"),
    "linelist.kind": ("名单类型", "What the list holds"),
    "linelist.kind_cases": ("病例", "Cases"),
    "linelist.kind_contacts": ("密切接触者", "Close contacts"),
    "linelist.pasted": (
        "从表格复制粘贴（首行为列名）",
        "Paste from a spreadsheet (the first row names the columns)",
    ),
    "linelist.file": ("或上传 CSV 文件", "or upload a CSV file"),
    "linelist.columns_cases": ("病例名单各列：", "Columns of a list of cases:"),
    "linelist.columns_contacts": ("密接名单各列：", "Columns of a list of close contacts:"),
    "linelist.required": ("必填：", "required:"),
    "linelist.load_valid": (
        "仅登记正确的行（错误行在下方列出）",
        "Register only the valid rows (the bad ones are listed here)",
    ),
    "linelist.send": ("检查并登记", "Check and register"),
    "linelist.loaded": (
        "已登记 {n} 行，{rejected} 行未登记。",
        "{n} rows registered, {rejected} not.",
    ),
    "linelist.registered_cases": ("登记的病例", "Case registered"),
    "linelist.registered_contacts": ("登记的密接", "Contact registered"),
    "linelist.refused": (
        "名单未登记：{n} 处问题，请逐行修改后重新提交。",
        "The list was not registered: {n} problem(s); fix each row and send it again.",
    ),
    "linelist.refused_next": (
        "也可勾选“仅登记正确的行”，先登记其余各行。",
        "Or tick the box to register the good rows now and fix the others later.",
    ),
}
