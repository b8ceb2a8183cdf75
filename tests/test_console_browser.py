"""The console in a real browser: Debian's Chromium driven through its chromedriver (Selenium), against
the real `weibao serve` process on a free loopback port, at a phone's width (390 px).

The walk is the README's fault: the service desk reports it and records its impact, the duty engineer
finds it in the tasklist with its deadline and completes the phone diagnosis through the rendered form
(a blank diagnosis refused first, shown at its field), the taken path is highlighted on the diagram, and
the auditor replays the case to event 5. Each page is saved as a screenshot under tests/artifacts/.

The second walk is the dispatcher's and the owners' pages: the service desk hands a diagnosis to the
second engineer, who filters the tasklist down to it; the SLA report's chart and its cases; a refused
upload listing its problems per element, a process's versions and a migration dry run. Those pages
are saved at 390 px and at a desktop's 1280 px.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest

from .conftest import ROOT, START
from .test_e2e_serve import STARTUP_SECONDS, weibao_command

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="no chromium and chromedriver here (.ci/run installs them)")

ARTIFACTS = ROOT / "tests" / "artifacts"
VIEWER = ROOT / "api" / "console" / "static" / "vendor" / "bpmn-navigated-viewer.js"
WAIT_SECONDS = 30
DEMO_SIGN_IN = "# Console sign-in:"


def _read_startup(process: subprocess.Popen[str]) -> tuple[str, str]:
    """The demo password line, then the listening line naming the console's address."""
    password = None
    deadline = time.monotonic() + STARTUP_SECONDS
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"weibao serve exited early with {process.wait()}")
        if line.startswith(DEMO_SIGN_IN):
            password = line.split()[-1]
        elif line.startswith("Weibao listening on "):
            assert password, "serve --demo printed no console password"
            console = line.split("console: ")[1].split(",")[0]
            return console.rstrip("/"), password
    raise AssertionError("weibao serve did not start in time")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    assert VIEWER.exists(), "bpmn-js is not vendored: run `make assets` (make test and make run do)"
    work = tmp_path_factory.mktemp("console")
    env = {**os.environ, "WEIBAO_DATABASE_URL": f"sqlite:///{work / 'weibao.sqlite3'}",
           "WEIBAO_PROCESSES_DIR": str(ROOT / "processes"), "PYTHONUNBUFFERED": "1"}
    command = [*weibao_command(), "serve", "--port", "0", "--demo", "--clock", "manual",
               "--clock-start", START.isoformat()]
    with open(work / "stderr.log", "w") as log:
        process = subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            yield _read_startup(process)
        finally:
            process.terminate()
            assert process.wait(timeout=30) == 0


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="weibao-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=390,844",
                 "--lang=zh-CN"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Console:
    """The few moves a person makes, each waiting for what the page shows next."""

    def __init__(self, driver: object, base: str, password: str) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver, self.base, self.password = driver, base, password
        self.wait = WebDriverWait(driver, WAIT_SECONDS)
        ARTIFACTS.mkdir(exist_ok=True)

    def css(self, selector: str):  # noqa: ANN201 - a selenium WebElement
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, selector)))

    def go(self, path: str) -> None:
        self.driver.get(self.base + path)

    def shot(self, name: str) -> None:
        # The whole page at the phone's width, not just the first screen.
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(390, max(844, min(int(height) + 100, 4000)))
        self.driver.execute_script("window.scrollTo(0, 0)")
        self.driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
        self.driver.set_window_size(390, 844)

    def shots(self, name: str) -> None:
        """The page at a phone's width and at a desktop's, whole."""
        for width in (390, 1280):
            self.driver.set_window_size(width, 900)
            height = self.driver.execute_script("return document.documentElement.scrollHeight")
            self.driver.set_window_size(width, max(900, min(int(height) + 100, 4000)))
            self.driver.execute_script("window.scrollTo(0, 0)")
            self.driver.save_screenshot(str(ARTIFACTS / f"{name}-{width}.png"))
        self.driver.set_window_size(390, 844)

    def sign_in(self, name: str) -> None:
        self.go("/")
        self.css("#name").send_keys(name)
        self.css("#password").send_keys(self.password)
        self.css("#signin").click()
        self.wait.until(lambda d: self.css("#who").text == name)

    def sign_out(self) -> None:
        self.css("#signout").click()
        self.css("#signin")

    def fill(self, values: dict[str, str]) -> None:
        from selenium.webdriver.support.ui import Select

        for name, value in values.items():
            box = self.css(f"#f-{name}")
            if box.tag_name == "select":
                Select(box).select_by_value(value)
            else:
                box.clear()
                box.send_keys(value)

    def open_task(self, element_id: str, instance_id: str) -> None:
        self.go("/tasks")
        self.css(f'li[data-element="{element_id}"][data-instance="{instance_id}"] a').click()
        self.css("#task-form")

    def submit(self, button: str) -> None:
        old = self.css("body")
        self.css(button).click()
        self.wait.until(lambda d: _stale(old))


def _stale(element: object) -> bool:
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()  # type: ignore[attr-defined]
    except StaleElementReferenceException:
        return True
    except WebDriverException as err:
        # caught mid-navigation, Chromium names the old node as no longer in the document
        if "does not belong to the document" in str(err):
            return True
        raise
    return False


def test_fault_from_report_to_audit_in_the_browser(served: tuple[str, str], browser: object) -> None:
    page = Console(browser, *served)
    page.go("/")
    assert "/signin" in browser.current_url  # type: ignore[attr-defined]
    assert page.css("label[for=name]").text == "用户名"
    page.shot("01-signin")

    # The service desk reports the walkthrough's fault through the start form.
    page.sign_in("service_desk")
    page.go("/start/fault_repair")
    assert "热线电话" in page.css("#f-channel").text  # enum values by their Chinese names
    page.fill({"business_key": "INC-1001", "summary": "B 楼核心交换机宕机", "channel": "hotline",
               "contract": "network_om", "level": "P2", "customer": "customer", "site_distance_km": "30"})
    page.shot("02-report")
    page.submit("#submit-start")
    instance_id = browser.current_url.rsplit("/", 1)[-1]  # type: ignore[attr-defined]
    assert page.css("#status").text == "进行中"
    # Its first step is inside the collapsed triage subprocess (分级研判): the main plane marks that open.
    page.css('.djs-element.wb-open[data-element-id="SubProcess_triage"]')
    page.open_task("Task_record_impact", instance_id)
    page.fill({"business_impact": "partial", "outage_minutes": "30", "affected_percent": "40",
               "safety_hazard": "false"})
    page.submit("#complete")
    page.open_task("Task_confirm_level", instance_id)
    assert page.css("#f-level option[selected]").get_attribute("value") == "P2"  # the case's value
    page.submit("#complete")
    page.sign_out()

    # The duty engineer on shift sees it first, with the deadline of its nearest SLA clock.
    page.sign_in("duty_engineer")
    page.go("/tasks")
    first = page.css("#tasks li")
    assert first.get_attribute("data-element") == "Task_phone_diagnosis"
    assert first.get_attribute("data-instance") == instance_id
    assert "截止" in first.text and "剩余" in first.text
    page.shot("03-tasklist")

    # The case while its open task is inside the collapsed remote-support subprocess: the main plane,
    # at a desktop's width, marks the subprocess open.
    page.driver.set_window_size(1280, 900)  # type: ignore[attr-defined]
    page.go(f"/cases/{instance_id}")
    page.css('.djs-element.wb-open[data-element-id="SubProcess_remote"]')
    page.css("#diagram").location_once_scrolled_into_view  # noqa: B018 - scrolls the diagram into the shot
    browser.save_screenshot(str(ARTIFACTS / "03-case-in-remote-support-1280.png"))  # type: ignore[attr-defined]
    page.driver.set_window_size(390, 844)  # type: ignore[attr-defined]

    # A blank diagnosis is refused by the engine and shown at its field; then it goes through.
    page.open_task("Task_phone_diagnosis", instance_id)
    page.fill({"diagnosis": "   ", "solved": "true"})
    page.submit("#complete")
    assert page.css("#field-diagnosis .error").text == "必填"
    assert page.css("#f-solved option[selected]").get_attribute("value") == "true"  # kept
    page.shot("04-task-refused")
    page.fill({"diagnosis": "光模块故障，已远程切换备用端口"})
    page.submit("#complete")

    # The case: the path taken is marked on the diagram.
    page.wait.until(lambda d: page.css("#diagram").get_attribute("data-state") != "loading")
    assert page.css("#diagram").get_attribute("data-state") == "ready"
    page.css('.djs-element.wb-done[data-element-id="StartEvent_fault_reported"]')
    # The diagnosis is drawn inside the collapsed remote-support subprocess: the main plane marks the
    # subprocess, and drilling down into it shows the diagnosis marked on its own plane.
    page.css('.djs-element.wb-done[data-element-id="SubProcess_triage"]')
    page.css('.djs-element.wb-done[data-element-id="SubProcess_remote"]')
    page.shot("05-case")
    drill = page.css('.djs-overlays[data-container-id="SubProcess_remote"] .bjs-drilldown')
    browser.execute_script("arguments[0].click()", drill)  # type: ignore[attr-defined]
    page.css('.djs-element.wb-done[data-element-id="Task_phone_diagnosis"]')
    page.shot("05-case-remote-support")
    page.sign_out()

    # The auditor verifies the chain and replays the case to event 5.
    page.sign_in("auditor")
    page.go("/audit")
    page.css(f'#audit-cases a[href="/audit/{instance_id}"]').click()
    assert "哈希链校验通过" in page.css("#verification").text
    number = page.css("#upto")
    number.clear()
    number.send_keys("5")
    page.submit("#replay")
    assert page.css("#replay-heading").text == "第 5 个事件之后的状态"
    assert browser.current_url.endswith("upto=5")  # type: ignore[attr-defined]
    assert [li.get_attribute("value") for li in browser.find_elements("css selector", "#timeline li")] \
        == ["1", "2", "3", "4", "5"]  # type: ignore[attr-defined]
    page.wait.until(lambda d: page.css("#diagram").get_attribute("data-state") == "ready")
    page.shot("06-audit-replay")


# A user task whose form v2 changes: the migration dry run has a reason to show.
OWNED_V1 = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_spare" targetNamespace="t">
  <bpmn:process id="spare_check" name="备件盘点" isExecutable="true">
    <bpmn:startEvent id="Begin" name="开始盘点"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Count" name="清点备件" camunda:candidateGroups="spare_parts_keeper">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="counted" label="已清点数量" type="long"/>
        <camunda:formField id="note" label="备注" type="string"/>
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="Done" name="盘点完成"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="Begin" targetRef="Count"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Count" targetRef="Done"/>
  </bpmn:process>
</bpmn:definitions>"""
OWNED_V2 = OWNED_V1.replace('<camunda:formField id="note" label="备注" type="string"/>', "")
# Two user tasks nobody may work on, and a flow to an element that does not exist.
REFUSED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="refused" isExecutable="true">
    <bpmn:startEvent id="s"/><bpmn:userTask id="Nobody"/><bpmn:userTask id="NobodyEither"/>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="Nobody"/>
    <bpmn:sequenceFlow id="g" sourceRef="Nobody" targetRef="NobodyEither"/>
  </bpmn:process>
</bpmn:definitions>"""


def _report_fault(page: Console, key: str) -> str:
    page.go("/start/fault_repair")
    page.fill({"business_key": key, "summary": "机房 UPS 告警", "channel": "hotline",
               "contract": "network_om", "level": "P2", "customer": "customer", "site_distance_km": "12"})
    page.submit("#submit-start")
    instance_id = page.driver.current_url.rsplit("/", 1)[-1]
    page.open_task("Task_record_impact", instance_id)
    page.fill({"business_impact": "partial", "outage_minutes": "10", "affected_percent": "20",
               "safety_hazard": "false"})
    page.submit("#complete")
    page.open_task("Task_confirm_level", instance_id)
    page.submit("#complete")
    return instance_id


def _upload(page: Console, *paths: object) -> None:
    page.go("/processes")
    page.css("#files").send_keys("\n".join(str(p) for p in paths))
    page.submit("#deploy")


def test_dispatching_reports_and_process_pages_in_the_browser(served: tuple[str, str], browser: object,
                                                               tmp_path: object) -> None:
    from pathlib import Path

    from selenium.webdriver.support.ui import Select

    page, work = Console(browser, *served), Path(str(tmp_path))

    # The service desk hands the new fault's diagnosis to the second engineer on duty.
    browser.delete_all_cookies()  # type: ignore[attr-defined]  # whoever the walk before left signed in
    page.sign_in("service_desk")
    instance_id = _report_fault(page, "INC-2001")
    page.go(f"/cases/{instance_id}")
    page.css('a[href^="/tasks/"]').click()
    Select(page.css("#assignee")).select_by_value("duty_engineer2")
    page.shots("07-reassign")
    page.submit("#reassign")
    assert "duty_engineer2" in page.css(".flash").text
    page.sign_out()

    # The second engineer filters the tasklist to the contract and finds it, with its clock by name.
    page.sign_in("duty_engineer2")
    page.go("/tasks")
    Select(page.css("#contract")).select_by_value("network_om")
    Select(page.css("#assignee")).select_by_value("duty_engineer2")
    page.submit("#filter")
    assert "contract=network_om" in browser.current_url  # type: ignore[attr-defined]
    item = page.css(f'#tasks li[data-instance="{instance_id}"]')
    assert item.get_attribute("data-element") == "Task_phone_diagnosis"
    assert page.css(f'#tasks li[data-instance="{instance_id}"] .clock').text == "响应"
    page.shots("08-tasklist-filters")
    page.sign_out()

    # The report: the month's clocks as a chart and a table, and the cases behind a line.
    page.sign_in("process_owner")
    page.go("/reports")
    page.css("#chart svg.bar rect")
    assert page.css('#report-table tr[data-clock="response"]')
    page.shots("09-reports")
    page.css('#report-table tr[data-clock="response"] td a').click()
    page.css("#report-cases")
    assert page.css(f'#report-cases tr[data-instance="{instance_id}"]')
    page.shots("10-report-cases")

    # A refused upload lists its problems per element; two versions of a good one, a case on the
    # first, and the dry run of moving it to the second.
    (work / "refused.bpmn").write_text(REFUSED, encoding="utf-8")
    _upload(page, work / "refused.bpmn")
    assert page.css('#problems tr[data-element="Nobody"]')
    page.shots("11-upload-problems")
    (work / "spare_check.bpmn").write_text(OWNED_V1, encoding="utf-8")
    _upload(page, work / "spare_check.bpmn")
    assert "spare_check v1" in page.css("#deployed").text
    page.go("/start/spare_check")
    page.submit("#submit-start")
    case_id = browser.current_url.rsplit("/", 1)[-1]  # type: ignore[attr-defined]
    (work / "spare_check.bpmn").write_text(OWNED_V2, encoding="utf-8")
    _upload(page, work / "spare_check.bpmn")
    page.css('#deployed a[href="/processes/spare_check"]').click()
    assert page.css('#versions tr[data-version="1"] .running').text == "1"
    page.shots("12-versions")
    page.submit("#migrate-1")
    assert page.css(f'#plan tr[data-instance="{case_id}"]').get_attribute("class") == "state-breached"
    page.shots("13-migration")
    page.go("/processes/spare_check")
    page.submit("#suspend-2")
    assert "已暂停" in page.css('#versions tr[data-version="2"]').text
    page.sign_out()
