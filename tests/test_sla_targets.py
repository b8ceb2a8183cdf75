"""The SLA target decision table `processes/sla_targets.dmn`, evaluated by SpiffWorkflow's DMN engine.

Every contract figure the table encodes has a case here, citing the seed contract it comes from
(../shared/seeds/00N_*.txt; the seed text wins over DIGEST.md where they differ).

How the table is called (the same call a bpmn:businessRuleTask makes):

    parser = BpmnDmnParser()          # CamundaParser / SpiffBpmnParser are subclasses and work the same
    parser.add_dmn_file("processes/sla_targets.dmn")
    engine = parser.get_engine("sla_targets", None)
    engine.result(task)               # task: .data dict, .workflow.script_engine, .task_spec

`task.data` must hold all four inputs: contract, level, clock, distance_km (None when not relevant).
The result is {"target": "PT30M", "calendar": "24x7"}; when no rule matches it is an empty dict {}.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.parser.BpmnDmnParser import XSD_DIR, BpmnDmnParser

from engine.bpmn.spiff import WeibaoScriptEngine

DMN_PATH = Path(__file__).resolve().parents[1] / "processes" / "sla_targets.dmn"
DMN_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"
DMNDI_NS = "https://www.omg.org/spec/DMN/20191111/DMNDI/"
NS = {"dmn": DMN_NS, "dmndi": DMNDI_NS}

C000 = "callcenter_95598"  # seed 000_db496af449587f92.txt
C001 = "network_om"  # seed 001_4ada53786a497df7.txt
C002 = "support"  # seed 002_2d9e6ae3473b3647.txt
C003 = "monitoring"  # seed 003_fc58e5a8846aff91.txt
C004 = "integration"  # seed 004_777e0ef8db92c2e8.txt
SEED_OF_CONTRACT = {C000: "000", C001: "001", C002: "002", C003: "003", C004: "004"}

A = "24x7"
W = "workdays"
# seed 004_777e0ef8db92c2e8.txt lines 633-649: 7×24 telephone support, on site 5×8 Mon-Fri 8:30-17:30
PHONE_7X24, ONSITE_5X8 = "7x24", "workdays_0830_1730"

ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$")
SEED_FILE = re.compile(r"\b(00[0-4])_[0-9a-f]{16}\.txt\b")

# One case per figure: (seed ref, contract, level, clock, distance_km, target, calendar).
# level None = the figure does not depend on the level (the rule's level entry is "-").
FIGURES: list[tuple[str, str, str | None, str, float | None, str, str]] = [
    # seed 000_db496af449587f92.txt (95598 call center)
    ("000 s2 onsite support", C000, None, "onsite_arrival", None, "PT2H", A),
    ("000 s3 spare part first", C000, None, "spare_part", None, "PT4H", A),
    ("000 s1 spare part next working day", C000, None, "spare_part_shipping", None, "PT9H", W),
    # seed 000 l.50: the customer returns the failed part within 10 working days (10 × 9 h)
    ("000 l.50 failed part returned", C000, None, "failed_part_return", None, "PT90H", W),
    ("000 s4.2 emergency arrive", C000, None, "emergency_onsite_arrival", None, "PT1H", A),
    ("000 s4.2 emergency locate", C000, None, "emergency_locate", None, "PT1H", A),
    ("000 s4.2 emergency resolve", C000, None, "emergency_resolve", None, "PT2H", A),
    # seed 001_4ada53786a497df7.txt (network O&M, Liaoning)
    ("001 s2.2.4.3 response", C001, "extra_major", "response", None, "PT5M", A),
    ("001 s2.2.4.3 response", C001, "major", "response", None, "PT5M", A),
    ("001 s2.2.4.3 response", C001, "serious", "response", None, "PT10M", A),
    ("001 s2.2.4.3 response", C001, "general", "response", None, "PT1H", A),
    ("001 s2.2.5.8 workaround", C001, "extra_major", "workaround", None, "PT30M", A),
    ("001 s2.2.5.8 workaround", C001, "major", "workaround", None, "PT30M", A),
    ("001 s2.2.5.8 workaround", C001, "serious", "workaround", None, "PT1H", A),
    ("001 s2.2.5.8 onsite Shenyang", C001, "extra_major", "onsite_arrival", None, "PT30M", A),
    ("001 s2.2.5.8 onsite 100km", C001, "extra_major", "onsite_arrival", 80, "PT1H", A),
    ("001 s2.2.5.8 onsite 300km", C001, "extra_major", "onsite_arrival", 250, "PT3H", A),
    ("001 s2.2.5.8 onsite 500km", C001, "extra_major", "onsite_arrival", 450, "PT5H", A),
    ("001 s2.2.5.8 onsite Shenyang", C001, "major", "onsite_arrival", None, "PT30M", A),
    ("001 s2.2.5.8 onsite 100km", C001, "major", "onsite_arrival", 60, "PT1H", A),
    ("001 s2.2.5.8 onsite 300km", C001, "major", "onsite_arrival", 180, "PT3H", A),
    ("001 s2.2.5.8 onsite 500km", C001, "major", "onsite_arrival", 420, "PT5H", A),
    ("001 s2.2.5.8 onsite Shenyang", C001, "serious", "onsite_arrival", None, "PT30M", A),
    ("001 s2.2.5.8 onsite 100km", C001, "serious", "onsite_arrival", 99, "PT1H", A),
    ("001 s2.2.5.8 onsite 300km", C001, "serious", "onsite_arrival", 299, "PT3H", A),
    ("001 s2.2.5.8 onsite 500km", C001, "serious", "onsite_arrival", 499, "PT5H", A),
    ("001 s2.2.6 fault report", C001, None, "report", None, "PT24H", A),
    ("001 s2.2.7.1 spare part", C001, None, "spare_part", None, "PT4H", A),
    ("001 s1.1.2 tier 2", C001, None, "escalation_tier2", None, "PT2H", A),
    ("001 s1.1.2 tier 3", C001, None, "escalation_tier3", None, "PT4H", A),
    ("001 s1.1.2 tier 4 one working day", C001, None, "escalation_tier4", None, "PT9H", W),
    ("001 s2.4.1 complaint reply", C001, None, "complaint_first_reply", None, "PT2H", A),
    ("001 s2.4.2 complaint half month", C001, None, "complaint_resolution", None, "P15D", A),
    ("001 s2.1 callback", C001, None, "callback", None, "P2D", A),
    ("001 s2.1 write-up", C001, None, "writeup", None, "P7D", A),
    ("001 s2.3.3.3 inspection notice", C001, None, "inspection_notice", None, "PT27H", W),
    # 3 days before the visit (s5.2 step 4), counted back from the visit day's start: by the end of
    # the 3rd day before = 2 days before its start
    ("001 l.13 s5.2 step 4 inspection re-confirmation", C001, None, "inspection_reconfirm", None, "P2D", A),
    ("001 l.13 s2.3.3.8 unfixable findings fed back, 2 working days", C001, None, "inspection_feedback", None,
     "PT18H", W),
    ("001 l.13 s2.3.4.2 monthly summary, 5 working days", C001, None, "monthly_summary", None, "PT45H", W),
    ("000 l.114 e-mail reply in 24 h", C000, "P3", "email_reply", None, "PT24H", A),
    ("001 l.13 s2.2.3.1 hotline call answered in 30 s", C001, None, "call_answer", None, "PT30S", A),
    ("001 l.13 s2.2.3.1 reply after a look-up in 30 min", C001, "P2", "lookup_reply", None, "PT30M", A),
    ("001 l.13 s4.2 sudden fault responded within 30 min of the call", C001, "P3", "sudden_fault_response",
     None, "PT30M", A),
    # seed 002_2d9e6ae3473b3647.txt (technical support, working-hour table in §3)
    ("002 s3 response", C002, "level1", "response", None, "PT2H", W),
    ("002 s3 response", C002, "level2", "response", None, "PT2H", W),
    ("002 s3 response", C002, "level3", "response", None, "PT4H", W),
    ("002 s3 repair 6h not working hours", C002, "level1", "resolution", None, "PT6H", A),
    ("002 s3 repair", C002, "level2", "resolution", None, "PT6H", W),
    ("002 s3 repair", C002, "level3", "resolution", None, "PT12H", W),
    ("002 s2.8 onsite in warranty", C002, None, "onsite_arrival", None, "PT12H", A),
    # seed 003_fc58e5a8846aff91.txt (machine-room monitoring)
    ("003 s1.1.5.3 phone", C003, "level1", "response", None, "PT30M", A),
    ("003 s1.1.5.3 phone", C003, "level2", "response", None, "PT2H", A),
    ("003 s1.1.5.3 phone", C003, "level3", "response", None, "PT2H", A),
    ("003 s1.1.5.3 phone", C003, "consultation", "response", None, "PT2H", A),
    ("003 s1.1.5.3 phone", C003, "other", "response", None, "PT48H", A),
    ("003 s1.1.6.3 remote", C003, "level1", "remote_response", None, "PT30M", A),
    ("003 s1.1.6.3 remote", C003, "level2", "remote_response", None, "PT2H", A),
    ("003 s1.1.6.3 remote", C003, "level3", "remote_response", None, "PT4H", A),
    # seed 003 l.75 §1.2.1.3: repaired part back in 30 working days domestic, 60 abroad
    ("003 s1.2.1.3 repaired domestic", C003, None, "repaired_part_return", None, "PT270H", W),
    ("003 s1.2.1.3 repaired abroad", C003, None, "repaired_part_return_abroad", None, "PT540H", W),
    # seed 003 l.79/l.81 §1.2.3.2 items 3, 5: loan of 3 months, extended to 6 months at most
    ("003 s1.2.3.2 loan", C003, None, "spare_part_loan", None, "P3M", A),
    ("003 s1.2.3.2 loan extended", C003, None, "spare_part_loan_total", None, "P6M", A),
    # seed 003 l.85 §1.2.4.3: a spare part bought is shipped within three months of the prepayment
    ("003 s1.2.4.3 sale shipped", C003, None, "spare_part_sale_shipping", None, "P3M", A),
    # seed 002 l.134-136: a written reply to a second-development request within one week
    ("002 l.134 development reply", C002, None, "development_reply", None, "P7D", A),
    # seed 001 l.13 §2.3.6: on-site training agreed 30 working days ahead; §3 step 6: risk
    # assessment within 3 months of the signing
    ("001 s2.3.6 training notice", C001, None, "training_notice", None, "PT270H", W),
    ("001 s3 risk assessment", C001, None, "risk_assessment", None, "P3M", A),
    ("003 s1.1.8.3 onsite by level", C003, "level1", "onsite_arrival", None, "PT2H", A),
    ("003 s1.1.8.3 onsite by level", C003, "level2", "onsite_arrival", None, "PT12H", A),
    ("003 s1.1.8.3 onsite by level", C003, "level3", "onsite_arrival", None, "PT24H", A),
    ("003 s1.1.8.3 level1 ignores distance", C003, "level1", "onsite_arrival", 300, "PT2H", A),
    ("003 s1.1.8.3 onsite 50km", C003, "level2", "onsite_arrival", 30, "PT5H", A),
    ("003 s1.1.8.3 onsite 100km", C003, "level2", "onsite_arrival", 80, "PT12H", A),
    ("003 s1.1.8.3 onsite 400km", C003, "level2", "onsite_arrival", 350, "PT24H", A),
    ("003 s1.1.8.3 onsite beyond 400km", C003, "level2", "onsite_arrival", 900, "P3D", A),
    ("003 s1.1.8.3 onsite 50km", C003, "level3", "onsite_arrival", 10, "PT5H", A),
    ("003 s1.1.8.3 onsite 100km", C003, "level3", "onsite_arrival", 75, "PT12H", A),
    ("003 s1.1.8.3 onsite 400km", C003, "level3", "onsite_arrival", 120, "PT24H", A),
    ("003 s1.1.8.3 onsite beyond 400km", C003, "level3", "onsite_arrival", 401, "P3D", A),
    ("003 s1.1.7.2 notify manager", C003, None, "emergency_notify_manager", None, "PT15M", A),
    ("003 s1.1.7.2 emergency team", C003, None, "emergency_team", None, "PT30M", A),
    ("003 s1.1.7.2 expert remote", C003, None, "emergency_expert_remote", None, "PT1H", A),
    ("003 s1.1.7.2 expert group", C003, None, "emergency_expert_group", None, "PT2H", A),
    ("003 s1.1.9.3 ladder", C003, "level1", "escalation_field_engineer", None, "PT15M", A),
    ("003 s1.1.9.3 ladder", C003, "level2", "escalation_field_engineer", None, "PT15M", A),
    ("003 s1.1.9.3 ladder", C003, "level3", "escalation_field_engineer", None, "PT15M", A),
    ("003 s1.1.9.3 ladder level 4", C003, "consultation", "escalation_field_engineer", None, "PT15M", A),
    ("003 s1.1.9.3 ladder", C003, "level1", "escalation_emergency_team", None, "PT30M", A),
    ("003 s1.1.9.3 ladder", C003, "level2", "escalation_emergency_team", None, "PT45M", A),
    ("003 s1.1.9.3 ladder", C003, "level3", "escalation_emergency_team", None, "PT1H", A),
    ("003 s1.1.9.3 ladder", C003, "level1", "escalation_customer_manager", None, "PT45M", A),
    ("003 s1.1.9.3 ladder", C003, "level2", "escalation_customer_manager", None, "PT1H", A),
    ("003 s1.1.9.3 ladder", C003, "level1", "escalation_general_manager", None, "PT1H", A),
    # seed 004_777e0ef8db92c2e8.txt (integration project, P1-P4)
    ("004 fault levels resolve", C004, "P1", "resolution", None, "PT1H", A),
    ("004 fault levels resolve", C004, "P2", "resolution", None, "PT2H", A),
    ("004 fault levels resolve", C004, "P3", "resolution", None, "PT4H", A),
    ("004 fault levels resolve", C004, "P4", "resolution", None, "PT24H", A),
    ("004 warranty promise 2 response", C004, None, "response", None, "PT30M", PHONE_7X24),
    ("004 warranty promise 2 onsite 5x8", C004, None, "onsite_arrival", None, "PT6H", ONSITE_5X8),
    ("004 warranty promise 8 emergency plan", C004, None, "emergency_plan", None, "PT4H", A),
    ("004 emergency fault service", C004, None, "emergency_response", None, "PT30M", PHONE_7X24),
    ("004 service modes 3 emergency onsite", C004, None, "emergency_onsite_arrival", None, "PT2H",
     PHONE_7X24),
    # 004 line 445: a repair over 5 working days gets a loaner (5 × 9 h on the 5×8 on-site days)
    ("004 warranty repair loaner", C004, None, "loaner", None, "PT45H", ONSITE_5X8),
    # 004 line 481: a spare part the vendor stops making is announced in writing half a year before
    ("004 part discontinuation notice", C004, None, "part_discontinuation_notice", None, "P6M", A),
    # 004 lines 709-711: every step is limited to one day (24 h, 7x24: "1天", not a working day), and
    # each further day undone it is reported one management level up
    ("004 step limit, first level", C004, None, "step_limit", None, "PT24H", PHONE_7X24),
    ("004 step limit, second level", C004, "P1", "step_limit_2", None, "PT24H", PHONE_7X24),
    ("004 step limit, third level", C004, "P4", "step_limit_3", None, "PT24H", PHONE_7X24),
]

# P1-P4 entered for contracts that grade faults differently (the extra "P1–P4 映射" rules).
# 001: P1 -> extra_major/major, P2 -> serious, P3/P4 -> general.
# 002: P1 -> level1, P2 -> level2, P3/P4 -> level3.
# 003: P1 -> level1, P2 -> level2, P3 -> level3, P4 -> consultation.
P_MAPPING = {
    C001: {"P1": "major", "P2": "serious", "P3": "general", "P4": "general"},
    C002: {"P1": "level1", "P2": "level2", "P3": "level3", "P4": "level3"},
    C003: {"P1": "level1", "P2": "level2", "P3": "level3", "P4": "consultation"},
}
P_CASES: list[tuple[str, str, str, str, float | None, str, str]] = [
    # seed 001_4ada53786a497df7.txt §2.2.4.3 / §2.2.5.8
    ("001 P map response", C001, "P1", "response", None, "PT5M", A),
    ("001 P map response", C001, "P2", "response", None, "PT10M", A),
    ("001 P map response", C001, "P3", "response", None, "PT1H", A),
    ("001 P map response", C001, "P4", "response", None, "PT1H", A),
    ("001 P map workaround", C001, "P1", "workaround", None, "PT30M", A),
    ("001 P map workaround", C001, "P2", "workaround", None, "PT1H", A),
    ("001 P map onsite Shenyang", C001, "P1", "onsite_arrival", None, "PT30M", A),
    ("001 P map onsite 100km", C001, "P1", "onsite_arrival", 100, "PT1H", A),
    ("001 P map onsite 300km", C001, "P1", "onsite_arrival", 300, "PT3H", A),
    ("001 P map onsite 500km", C001, "P1", "onsite_arrival", 500, "PT5H", A),
    ("001 P map onsite Shenyang", C001, "P2", "onsite_arrival", None, "PT30M", A),
    ("001 P map onsite 100km", C001, "P2", "onsite_arrival", 1, "PT1H", A),
    ("001 P map onsite 300km", C001, "P2", "onsite_arrival", 101, "PT3H", A),
    ("001 P map onsite 500km", C001, "P2", "onsite_arrival", 301, "PT5H", A),
    ("001 P map level-free rule", C001, "P3", "report", None, "PT24H", A),
    # seed 002_2d9e6ae3473b3647.txt §3
    ("002 P map response", C002, "P1", "response", None, "PT2H", W),
    ("002 P map response", C002, "P2", "response", None, "PT2H", W),
    ("002 P map response", C002, "P3", "response", None, "PT4H", W),
    ("002 P map response", C002, "P4", "response", None, "PT4H", W),
    ("002 P map repair", C002, "P1", "resolution", None, "PT6H", A),
    ("002 P map repair", C002, "P2", "resolution", None, "PT6H", W),
    ("002 P map repair", C002, "P3", "resolution", None, "PT12H", W),
    ("002 P map repair", C002, "P4", "resolution", None, "PT12H", W),
    # seed 003_fc58e5a8846aff91.txt §1.1.5.3, §1.1.6.3, §1.1.8.3, §1.1.9.3
    ("003 P map phone", C003, "P1", "response", None, "PT30M", A),
    ("003 P map phone", C003, "P2", "response", None, "PT2H", A),
    ("003 P map phone", C003, "P3", "response", None, "PT2H", A),
    ("003 P map phone consultation", C003, "P4", "response", None, "PT2H", A),
    ("003 P map remote", C003, "P1", "remote_response", None, "PT30M", A),
    ("003 P map remote", C003, "P2", "remote_response", None, "PT2H", A),
    ("003 P map remote", C003, "P3", "remote_response", None, "PT4H", A),
    ("003 P map onsite", C003, "P1", "onsite_arrival", 30, "PT2H", A),
    ("003 P map onsite by level", C003, "P2", "onsite_arrival", None, "PT12H", A),
    ("003 P map onsite 50km", C003, "P2", "onsite_arrival", 50, "PT5H", A),
    ("003 P map onsite 100km", C003, "P2", "onsite_arrival", 100, "PT12H", A),
    ("003 P map onsite 400km", C003, "P2", "onsite_arrival", 400, "PT24H", A),
    ("003 P map onsite beyond", C003, "P2", "onsite_arrival", 400.5, "P3D", A),
    ("003 P map onsite by level", C003, "P3", "onsite_arrival", None, "PT24H", A),
    ("003 P map onsite 50km", C003, "P3", "onsite_arrival", 0, "PT5H", A),
    ("003 P map onsite 100km", C003, "P3", "onsite_arrival", 50.5, "PT12H", A),
    ("003 P map onsite 400km", C003, "P3", "onsite_arrival", 100.5, "PT24H", A),
    ("003 P map onsite beyond", C003, "P3", "onsite_arrival", 5000, "P3D", A),
    ("003 P map ladder", C003, "P1", "escalation_field_engineer", None, "PT15M", A),
    ("003 P map ladder", C003, "P2", "escalation_field_engineer", None, "PT15M", A),
    ("003 P map ladder", C003, "P3", "escalation_field_engineer", None, "PT15M", A),
    ("003 P map ladder", C003, "P4", "escalation_field_engineer", None, "PT15M", A),
    ("003 P map ladder", C003, "P1", "escalation_emergency_team", None, "PT30M", A),
    ("003 P map ladder", C003, "P2", "escalation_emergency_team", None, "PT45M", A),
    ("003 P map ladder", C003, "P3", "escalation_emergency_team", None, "PT1H", A),
    ("003 P map ladder", C003, "P1", "escalation_customer_manager", None, "PT45M", A),
    ("003 P map ladder", C003, "P2", "escalation_customer_manager", None, "PT1H", A),
    ("003 P map ladder", C003, "P1", "escalation_general_manager", None, "PT1H", A),
    ("003 P map level-free rule", C003, "P1", "emergency_team", None, "PT30M", A),
    # seed 004_777e0ef8db92c2e8.txt: level-free rules accept any level
    ("004 level-free rule", C004, "P3", "response", None, "PT30M", PHONE_7X24),
]

# Distance boundaries: ranges are closed at the top ("within 100 km" includes 100 km).
DISTANCE_CASES: list[tuple[str, str, str, str, float | None, str | None]] = [
    # seed 001_4ada53786a497df7.txt §2.2.5.8: Shenyang 0.5 h, <=100 km 1 h, <=300 km 3 h, <=500 km 5 h
    ("001 Shenyang / unknown", C001, "major", "onsite_arrival", None, "PT30M"),
    ("001 0 km", C001, "major", "onsite_arrival", 0, "PT1H"),
    ("001 exactly 100 km", C001, "major", "onsite_arrival", 100, "PT1H"),
    ("001 100.5 km", C001, "major", "onsite_arrival", 100.5, "PT3H"),
    ("001 exactly 300 km", C001, "major", "onsite_arrival", 300, "PT3H"),
    ("001 300.5 km", C001, "major", "onsite_arrival", 300.5, "PT5H"),
    ("001 exactly 500 km", C001, "major", "onsite_arrival", 500, "PT5H"),
    ("001 500.5 km no figure", C001, "major", "onsite_arrival", 500.5, None),
    ("001 1000 km no figure", C001, "serious", "onsite_arrival", 1000, None),
    ("001 general not applicable", C001, "general", "onsite_arrival", 50, None),
    # seed 003_fc58e5a8846aff91.txt §1.1.8.3 table 1-4: <=50 km 5 h, <=100 km 12 h, <=400 km 24 h, beyond 3 d
    ("003 exactly 50 km", C003, "level2", "onsite_arrival", 50, "PT5H"),
    ("003 50.5 km", C003, "level2", "onsite_arrival", 50.5, "PT12H"),
    ("003 exactly 100 km", C003, "level2", "onsite_arrival", 100, "PT12H"),
    ("003 100.5 km", C003, "level2", "onsite_arrival", 100.5, "PT24H"),
    ("003 exactly 300 km", C003, "level3", "onsite_arrival", 300, "PT24H"),
    ("003 exactly 400 km", C003, "level3", "onsite_arrival", 400, "PT24H"),
    ("003 400.5 km", C003, "level3", "onsite_arrival", 400.5, "P3D"),
    ("003 beyond, 2000 km", C003, "level2", "onsite_arrival", 2000, "P3D"),
    ("003 level1 at 500 km stays 2 h", C003, "level1", "onsite_arrival", 500, "PT2H"),
    ("003 consultation has no on-site figure", C003, "consultation", "onsite_arrival", 10, None),
]

NO_MATCH: list[tuple[str, Any, Any, Any, float | None]] = [
    ("unknown contract", "unknown_contract", "P1", "response", None),
    ("contract None", None, "P1", "response", None),
    ("unknown clock", C001, "major", "unknown_clock", None),
    ("unknown level", C001, "critical", "response", None),
    ("clock of another contract", C004, "P1", "spare_part_shipping", None),
    ("001 general workaround n/a", C001, "general", "workaround", None),
    ("001 P3 workaround n/a", C001, "P3", "workaround", None),
    ("001 P4 onsite n/a", C001, "P4", "onsite_arrival", None),
    ("003 P4 remote n/a", C003, "P4", "remote_response", None),
    ("003 other not on the ladder", C003, "other", "escalation_field_engineer", None),
    ("003 level2 has no general-manager rung", C003, "level2", "escalation_general_manager", None),
    ("004 levels are P1-P4 only", C004, "level1", "resolution", None),
]


def _param_id(case: tuple[Any, ...]) -> str:
    ref, _contract, level, clock, distance = case[:5]
    parts = [ref.replace(" ", "_"), clock]
    if level is not None:
        parts.append(str(level))
    if distance is not None:
        parts.append(f"{distance}km")
    return "-".join(parts)


def _params(cases: list[tuple[Any, ...]]) -> list[Any]:
    return [pytest.param(*case, id=_param_id(case)) for case in cases]


SCRIPT_ENGINE = WeibaoScriptEngine()  # the sandbox the engine evaluates the table in


def make_task(contract: Any, level: Any, clock: Any, distance_km: float | None) -> SimpleNamespace:
    """The minimum of a SpiffWorkflow task that DMNEngine.result() uses (data, script engine, and what
    WorkflowTaskException reads to describe where an expression failed)."""
    workflow = SimpleNamespace(script_engine=SCRIPT_ENGINE, spec=SimpleNamespace(file=DMN_PATH.name))
    workflow.top_workflow = workflow
    return SimpleNamespace(
        data={"contract": contract, "level": level, "clock": clock, "distance_km": distance_km},
        workflow=workflow,
        task_spec=SimpleNamespace(bpmn_name="SLA时限", name="sla_targets"),
    )


def evaluate(
    engine: DMNEngine, contract: Any, level: Any, clock: Any, distance_km: float | None = None
) -> dict:
    """target and calendar; the rung columns are checked by test_ladder_rungs_name_their_group."""
    result = dict(engine.result(make_task(contract, level, clock, distance_km)))
    return {k: v for k, v in result.items() if k not in RUNG_COLUMNS}


RUNG_COLUMNS = ("rung_group", "rung_action")


def load_engine() -> DMNEngine:
    parser = BpmnDmnParser()
    parser.add_dmn_file(str(DMN_PATH))
    return parser.get_engine("sla_targets", None)


@pytest.fixture(scope="module")
def engine() -> DMNEngine:
    return load_engine()


@pytest.fixture(scope="module")
def collect_engine() -> DMNEngine:
    """A separately parsed copy switched to COLLECT, to see every rule an input matches."""
    eng = load_engine()
    eng.decision_table.hit_policy = "COLLECT"
    return eng


def matched_rule_ids(collect_engine: DMNEngine, contract, level, clock, distance_km) -> list[str]:
    return [rule.id for rule in collect_engine.decide(make_task(contract, level, clock, distance_km))]


# ---------------------------------------------------------------- the figures


@pytest.mark.parametrize(
    ("ref", "contract", "level", "clock", "distance_km", "target", "calendar"), _params(FIGURES)
)
def test_contract_figures(engine, ref, contract, level, clock, distance_km, target, calendar):
    assert evaluate(engine, contract, level, clock, distance_km) == {"target": target, "calendar": calendar}


@pytest.mark.parametrize(
    ("ref", "contract", "level", "clock", "distance_km", "target", "calendar"), _params(P_CASES)
)
def test_p_level_mapping(engine, ref, contract, level, clock, distance_km, target, calendar):
    assert evaluate(engine, contract, level, clock, distance_km) == {"target": target, "calendar": calendar}


PROBE_DISTANCES = [None, 0, 25, 50, 50.5, 75, 100, 100.5, 200, 300, 300.5, 400, 400.5, 450, 500, 500.5, 2000]


@pytest.mark.parametrize("contract", sorted(P_MAPPING))
def test_p_levels_behave_like_their_native_level(engine, contract):
    clocks = sorted({case[3] for case in FIGURES + P_CASES if case[1] == contract})
    for p_level, native in P_MAPPING[contract].items():
        for clock in clocks:
            distances = PROBE_DISTANCES if clock == "onsite_arrival" else [None]
            for distance in distances:
                expected = evaluate(engine, contract, native, clock, distance)
                got = evaluate(engine, contract, p_level, clock, distance)
                assert got == expected, (contract, p_level, native, clock, distance)


@pytest.mark.parametrize(
    ("ref", "contract", "level", "clock", "distance_km", "target"), _params(DISTANCE_CASES)
)
def test_distance_boundaries(engine, ref, contract, level, clock, distance_km, target):
    result = evaluate(engine, contract, level, clock, distance_km)
    assert result == ({"target": target, "calendar": A} if target else {})


@pytest.mark.parametrize(("ref", "contract", "level", "clock", "distance_km"), _params(NO_MATCH))
def test_no_match_is_an_empty_result(engine, ref, contract, level, clock, distance_km):
    # SpiffWorkflow signals "no rule matched" with an empty dict: no exception, no keys. Inside a
    # businessRuleTask that merges nothing into task.data, so earlier target/calendar values would survive.
    assert evaluate(engine, contract, level, clock, distance_km) == {}
    assert engine.decide(make_task(contract, level, clock, distance_km)) == []


def test_missing_distance_variable_is_an_error_not_a_miss(engine):
    # Inputs are Python expressions evaluated against task.data: a distance rule whose other columns match
    # needs the name `distance_km` to exist. Callers must always pass it (None when irrelevant).
    task = make_task(C001, "major", "onsite_arrival", None)
    del task.data["distance_km"]
    with pytest.raises(WorkflowTaskException):
        engine.result(task)


# ---------------------------------------------------------------- the table as a whole


def test_every_case_hits_exactly_one_rule_and_every_rule_is_used(collect_engine):
    """UNIQUE is declared; SpiffWorkflow stops at the first hit without checking, so check it here."""
    used: set[str] = set()
    positive = [c[1:5] for c in FIGURES + P_CASES] + [c[1:5] for c in DISTANCE_CASES if c[5] is not None]
    for contract, level, clock, distance in positive:
        ids = matched_rule_ids(collect_engine, contract, level, clock, distance)
        assert len(ids) == 1, (contract, level, clock, distance, ids)
        used.update(ids)
    for contract, level, clock, distance in [c[1:5] for c in DISTANCE_CASES if c[5] is None]:
        assert matched_rule_ids(collect_engine, contract, level, clock, distance) == []
    all_ids = {rule.id for rule in collect_engine.decision_table.rules}
    assert all_ids - used == set(), "rules without a test case"


def _entry_text(rule, index: int) -> str:
    return rule.inputEntries[index].text


def test_no_two_rules_overlap(engine):
    """Static check of UNIQUE over all inputs, not only the listed cases.

    String columns only test equality or "-", so within one (contract, clock) group it is enough to probe
    every level named in the group plus one unnamed level; distances are probed on and around every edge.
    """
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for rule in engine.decision_table.rules:
        groups[(_entry_text(rule, 0).strip('"'), _entry_text(rule, 2).strip('"'))].append(rule)
    for (contract, clock), rules in groups.items():
        sub_engine = DMNEngine(SimpleNamespace(rules=rules, hit_policy="COLLECT"))
        levels = {_entry_text(rule, 1).strip('"') for rule in rules} - {"-"} | {"no-such-level"}
        for level in sorted(levels):
            for distance in PROBE_DISTANCES:
                hits = [r.id for r in sub_engine.decide(make_task(contract, level, clock, distance))]
                assert len(hits) <= 1, (contract, level, clock, distance, hits)
    ids = [rule.id for rule in engine.decision_table.rules]
    assert len(ids) == len(set(ids))


# Each rung: (contract, level, clock) -> (group, action), with the seed line that names the group.
RUNGS = [
    # 001_4ada53786a497df7.txt line 13 §1.1.2 系统故障支援升级 1–3 and §1.1.1 (二级 高级工程师, 三级 专家服务
    # 小组, 四级 技术总监到场协调厂家资深工程师): each tier hands the case on, so each creates a task.
    (C001, None, "escalation_tier2", "senior_engineer", "task"),
    (C001, None, "escalation_tier3", "expert_group", "task"),
    (C001, None, "escalation_tier4", "technical_director", "task"),
    # 003_fc58e5a8846aff91.txt lines 37–39 §1.1.7.2: the emergency steps overdue are told to management.
    (C003, None, "emergency_team", "general_manager", "sms"),
    (C003, None, "emergency_expert_remote", "general_manager", "sms"),
    (C003, None, "emergency_expert_group", "technical_director", "sms"),
    # 003 line 57 §1.1.9.3 表1-6: field engineer and customer manager are told; the emergency team takes
    # the case over and the general manager is reported to, both as a task.
    (C003, "level1", "escalation_field_engineer", "duty_engineer", "sms"),
    (C003, "level2", "escalation_emergency_team", "expert_group", "task"),
    (C003, "level1", "escalation_customer_manager", "customer_manager", "sms"),
    (C003, "P1", "escalation_general_manager", "general_manager", "task"),
    # 001 line 13 §2.4.1 / 投诉机制 7.1: a complaint unanswered 2 h after it was received goes to the
    # department director, who is told
    (C001, None, "complaint_first_reply", "department_director", "sms"),
    # 004 line 445: the spare-parts keeper brings the loaner, a task
    (C004, None, "loaner", "spare_parts_keeper", "task"),
    # 004 lines 709-711: a step undone is reported (通报) one management level up each day: the support
    # group leader who assigns and tracks the steps (lines 699-705), the project manager (lines 53-61),
    # the project director the project manager reports to (lines 61, 277)
    (C004, None, "step_limit", "support_group_leader", "sms"),
    (C004, None, "step_limit_2", "project_manager", "sms"),
    (C004, None, "step_limit_3", "project_director", "sms"),
]


@pytest.mark.parametrize(("contract", "level", "clock", "group", "action"), RUNGS)
def test_ladder_rungs_name_their_group(engine, contract, level, clock, group, action):
    result = dict(engine.result(make_task(contract, level, clock, None)))
    assert (result["rung_group"], result["rung_action"]) == (group, action)


def test_only_ladder_rows_are_rungs(engine):
    rung_clocks = {r[2] for r in RUNGS}
    for rule in engine.decision_table.rules:
        group, action = (e.text for e in rule.outputEntries[2:4])
        clock = _entry_text(rule, 2).strip('"')
        assert bool(group) == bool(action) == (clock in rung_clocks), rule.id
        assert action in (None, "", "\"sms\"", "\"task\""), rule.id


def test_every_rule_cites_its_seed_and_has_wellformed_outputs(engine):
    for rule in engine.decision_table.rules:
        assert rule.description, rule.id
        contract = _entry_text(rule, 0).strip('"')
        seeds = set(SEED_FILE.findall(rule.description))
        assert seeds == {SEED_OF_CONTRACT[contract]}, (rule.id, rule.description)
        assert rule.id.startswith(f"r{SEED_OF_CONTRACT[contract]}_"), rule.id
        target, calendar = (entry.text.strip('"') for entry in rule.outputEntries[:2])
        assert ISO_DURATION.match(target), (rule.id, target)
        assert calendar in (A, W, PHONE_7X24, ONSITE_5X8), (rule.id, calendar)
        if calendar.startswith(W):
            # working time is counted in working hours (1 working day = 08:30-17:30 = 9 h)
            assert re.fullmatch(r"PT\d+H", target), (rule.id, target)


def test_p_mapping_rules_are_documented(engine):
    for rule in engine.decision_table.rules:
        contract = _entry_text(rule, 0).strip('"')
        level = _entry_text(rule, 1).strip('"')
        if contract in P_MAPPING and level.startswith("P"):
            assert rule.description.startswith("P1–P4 映射"), rule.id


# ---------------------------------------------------------------- the file


def test_dmn_validates_against_the_dmn13_xsd():
    schema = etree.XMLSchema(etree.parse(str(Path(XSD_DIR) / "DMN13.xsd")))
    document = etree.parse(str(DMN_PATH))
    assert schema.validate(document), schema.error_log
    assert document.getroot().tag == f"{{{DMN_NS}}}definitions"


def test_parser_with_validation_accepts_the_file():
    # a parser with a validator also validates DMN files against the schema of their namespace
    parser = CamundaParser(validator=BpmnValidator())
    parser.add_dmn_file(str(DMN_PATH))
    assert parser.get_engine("sla_targets", None).decision_table.hit_policy == "UNIQUE"


def test_decision_shape_and_names():
    root = etree.parse(str(DMN_PATH)).getroot()
    decisions = root.findall("dmn:decision", NS)
    assert [d.get("id") for d in decisions] == ["sla_targets"]
    assert decisions[0].get("name") == "SLA时限"
    assert "UNIQUE" in decisions[0].findtext("dmn:description", namespaces=NS)
    table = decisions[0].find("dmn:decisionTable", NS)
    assert table.get("hitPolicy") in ("UNIQUE", "FIRST")
    inputs = [
        i.findtext("dmn:inputExpression/dmn:text", namespaces=NS) for i in table.findall("dmn:input", NS)
    ]
    assert inputs == ["contract", "level", "clock", "distance_km"]
    outputs = [o.get("name") for o in table.findall("dmn:output", NS)]
    assert outputs == ["target", "calendar", "rung_group", "rung_action"]
    shapes = root.findall("dmndi:DMNDI/dmndi:DMNDiagram/dmndi:DMNShape", NS)
    assert [s.get("dmnElementRef") for s in shapes] == ["sla_targets"]
