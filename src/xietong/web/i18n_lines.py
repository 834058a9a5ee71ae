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
    "quarantine.ended_on": ("提前结束日期", "Ended early on"),
    "quarantine.released_at": ("解除时间", "Released at"),
    "quarantine.policy": ("依据政策版本", "Policy version"),
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
}
