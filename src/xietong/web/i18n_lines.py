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
}
