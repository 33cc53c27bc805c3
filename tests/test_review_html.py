"""`gopolicy review`: the page's data, that it is self-contained, and that it works in Chromium.

The browser test needs Debian's chromium and chromium-driver and Python's selenium; it
is skipped when any is missing. Its screenshot is kept under $GOPOLICY_TEST_ARTIFACTS
when that is set, otherwise under pytest's tmp_path.
"""

import json
import re
import shutil
from pathlib import Path

import pytest
from screens import artefact_dir

pytest.importorskip("torch")

from gopolicy.cli import main  # noqa: E402
from gopolicy.network_options import DEFAULT_SYMMETRIES  # noqa: E402  (the commands' default)

GAME = (b"(;GM[1]FF[4]SZ[19]KM[6.5]PB[Ann <b>]PW[</script><script>alert(1)</script>]RE[B+R]"
        b";B[pd];W[dp];B[pp];W[dd];B[qk];W[];B[fc])")
MOVES = 7  # the pass included
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def page_data(html: str) -> dict:
    """Return the JSON data embedded in the review page."""
    match = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)
    assert match, "no data element"
    return json.loads(match.group(1))


@pytest.fixture
def review_page(tmp_path, tiny_weights, capsys):
    """Return the path of the review page of GAME written with the tiny network."""
    sgf = tmp_path / "game.sgf"
    sgf.write_bytes(GAME)
    out = tmp_path / "gopolicy.review.html"
    status = main(["review", str(sgf), "--weights", str(tiny_weights), "--device", "cpu", "-o", str(out)])
    assert status == 0, capsys.readouterr().err
    return out


def test_page_holds_every_position(review_page, tiny_weights):
    from gopolicy.policy import Policy
    from gopolicy.sgf_io import load_game

    data = page_data(review_page.read_text(encoding="utf-8"))
    steps = data["steps"]
    assert [s["n"] for s in steps] == list(range(MOVES + 1))
    assert all(len(s["b"]) == 361 for s in steps)
    assert steps[4]["b"].count("X") == 2 and steps[4]["b"].count("O") == 2
    assert steps[6]["mv"] == 16 * 19 + 5  # B[fc] = F17 = (row 16, col 5)
    assert steps[5]["mv"] == -1 and steps[5]["rank"] is None  # White passed
    assert steps[-1]["mv"] is None and steps[-1]["top"]  # final position: top moves, nothing played
    policy = Policy(tiny_weights, device="cpu", symmetries=DEFAULT_SYMMETRIES)
    for step, (position, move) in zip(steps, load_game(GAME).positions()):
        pmap = policy.evaluate(position)
        best = pmap.best()
        assert step["top"][0][0] == best[0] * 19 + best[1]
        assert abs(sum(q for q in step["p"] if q > 0) - 100_000) < 400  # rounding of 361 values
        if move is not None:
            assert step["mv"] == move[0] * 19 + move[1]
            assert step["prob"] == pytest.approx(pmap.prob(move), abs=1e-5)


def test_page_is_self_contained_and_escaped(review_page):
    html = review_page.read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html)
    assert "https://" not in html and "cdn" not in html.lower()
    assert html.count("</script>") == 2  # the data and the viewer: the player name closed nothing
    assert page_data(html)["title"].startswith("Ann <b> vs </script>")


def test_review_errors_are_one_line(tmp_path, tiny_weights, capsys):
    sgf = tmp_path / "small.sgf"
    sgf.write_bytes(b"(;GM[1]FF[4]SZ[13];B[gg])")
    status = main(["review", str(sgf), "--weights", str(tiny_weights), "-o", str(tmp_path / "r.html")])
    err = capsys.readouterr().err
    assert status != 0 and err.startswith("gopolicy review: error:") and err.count("\n") == 1



@pytest.fixture
def browser(tmp_path):
    """Return a headless Chromium driven by selenium; skip if either is missing."""
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("chromium or chromedriver is not installed")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage", "--window-size=1280,1100",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.mark.slow
@pytest.mark.gui
def test_page_in_headless_chromium(review_page, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(review_page.as_uri())
    stones = lambda: browser.find_elements(By.CSS_SELECTOR, "#stones circle.stone")  # noqa: E731
    top5 = lambda: browser.find_element(By.ID, "top5").text  # noqa: E731
    counter = browser.find_element(By.ID, "counter")
    assert counter.text.startswith("After 0 of 7 moves, Black to play")
    assert stones() == []
    assert len(browser.find_elements(By.CSS_SELECTOR, "#top5 li")) == 5
    first_list = top5()
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart rect")) == 6  # one bar per move on the board

    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
    WebDriverWait(browser, 10).until(lambda d: "After 1 of" in counter.text)
    assert len(stones()) == 1
    # the list follows the step: its first line names the page data's top move of each position
    steps = page_data(review_page.read_text(encoding="utf-8"))["steps"]
    vertex = lambda index: "ABCDEFGHJKLMNOPQRST"[index % 19] + str(index // 19 + 1)  # noqa: E731
    assert first_list.split()[0] == vertex(steps[0]["top"][0][0])
    assert top5().split()[0] == vertex(steps[1]["top"][0][0])
    assert browser.find_element(By.ID, "slider").get_attribute("value") == "1"

    for _ in range(4):
        browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
    WebDriverWait(browser, 10).until(lambda d: "After 5 of" in counter.text)
    assert len(stones()) == 5
    assert "pass" in browser.find_element(By.ID, "played").text  # White's move 6 was a pass
    browser.find_element(By.ID, "prev").click()
    WebDriverWait(browser, 10).until(lambda d: "After 4 of" in counter.text)
    assert "rank" in browser.find_element(By.ID, "played").text

    shot = artefact_dir(tmp_path) / "review_page.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
