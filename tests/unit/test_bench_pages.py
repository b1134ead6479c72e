"""The page benchmark's pure parts: reading wrk's report, refusing runs that measured failures, medians."""
import pytest

from tests.bench.bench_pages import Request, Summary, WrkResult, figure_lines, parse_wrk_output, round_line, summarise

WRK_OUTPUT = """Running 5s test @ http://127.0.0.1:40123
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.31ms    1.02ms  21.53ms   80.12%
  33530 requests in 5.00s, 5.14MB read
Requests/sec:   6705.52
Transfer/sec:      1.03MB
wrk-result requests=33530 duration_us=5000310 p50_us=2101.0 p99_us=5873.5 failed=0 statuses=- \
connect_errors=0 read_errors=0 write_errors=0 timeouts=0
"""


def result(rps: float, *, p50_us: float = 1000.0, p99_us: float = 2000.0) -> WrkResult:
    return WrkResult(requests=int(rps * 5), duration_us=5_000_000, p50_us=p50_us, p99_us=p99_us, failed=0,
                     statuses={}, socket_errors={"connect": 0, "read": 0, "write": 0, "timeouts": 0})


def test_wrk_report_is_read_from_the_result_line():
    parsed = parse_wrk_output(WRK_OUTPUT)
    assert parsed.requests == 33530 and parsed.p50_us == 2101.0 and parsed.p99_us == 5873.5
    assert parsed.rps == pytest.approx(6705.6, abs=0.1)
    assert parsed.statuses == {} and parsed.problem() is None


def test_redirects_and_throttled_answers_make_the_run_worthless():
    line = ("wrk-result requests=120 duration_us=1000000 p50_us=3.0 p99_us=9.0 failed=7 statuses=302:5,429:2 "
            "connect_errors=0 read_errors=0 write_errors=0 timeouts=0")
    parsed = parse_wrk_output(line)
    assert parsed.statuses == {302: 5, 429: 2}
    assert parsed.problem() == "7 of 120 answers were not 2xx (5 × 302, 2 × 429)"


@pytest.mark.parametrize("errors, expected", [
    ("connect_errors=0 read_errors=3 write_errors=0 timeouts=0", "socket errors: 3 read"),
    ("connect_errors=0 read_errors=0 write_errors=0 timeouts=2", "socket errors: 2 timeouts"),
])
def test_socket_errors_and_timeouts_make_the_run_worthless(errors, expected):
    line = f"wrk-result requests=50 duration_us=1000000 p50_us=3.0 p99_us=9.0 failed=0 statuses=- {errors}"
    assert parse_wrk_output(line).problem() == expected


def test_a_measured_run_without_answers_is_worthless():
    line = ("wrk-result requests=0 duration_us=1000000 p50_us=0.0 p99_us=0.0 failed=0 statuses=- "
            "connect_errors=0 read_errors=0 write_errors=0 timeouts=0")
    assert parse_wrk_output(line).problem().startswith("no request was answered")
    assert parse_wrk_output(line).problem(may_be_empty=True) is None, "a warm-up may finish nothing"


def test_output_without_result_line_is_an_error():
    with pytest.raises(ValueError, match="no wrk-result line"):
        parse_wrk_output("PANIC: unprotected error in call to Lua API")


def test_figures_are_medians_over_the_rounds_and_the_ratio_divides_the_printed_rates():
    rounds = [
        {"bare": result(1000), "page": result(500, p99_us=9000)},
        {"bare": result(400), "page": result(100, p99_us=30000)},  # the machine was busy this round
        {"bare": result(900), "page": result(400, p99_us=8000)},
    ]
    summary = summarise(rounds)
    assert summary["bare"].ratio == 1.0
    assert summary["page"].rps == pytest.approx(400) and summary["page"].p99_ms == pytest.approx(9.0)
    assert summary["page"].ratio == pytest.approx(400 / 900)


def test_round_line_lists_every_targets_rate():
    assert round_line(2, {"bare": result(6706), "module_page": result(458)}) == \
        "round 2: bare 6706, module_page 458 req/s"


def test_figures_are_name_value_unit_lines_with_the_query_counts_of_app_pages():
    lines = figure_lines({"module_page": Summary(rps=458.04, p50_ms=30.456, p99_ms=63.0, ratio=0.0683)},
                         {"module_page": (1, 0, 2)})
    assert lines == ["module_page_rps: 458 req/s", "module_page_p50_ms: 30.46 ms", "module_page_p99_ms: 63.00 ms",
                     "module_page_ratio: 0.068", "module_page_sql: 1 statements", "module_page_drawn_sql: 2 statements",
                     "module_page_write_locks: 0 per request"]


def test_request_lines_carry_path_and_headers_tab_separated():
    request = Request("/dashboard", (("User-Agent", "namalms-bench"), ("Cookie", "session=abc; x=1")))
    assert request.line() == "/dashboard\tUser-Agent: namalms-bench\tCookie: session=abc; x=1"
    with pytest.raises(ValueError):
        Request("/x", (("Cookie", "a\tb"),)).line()


def test_answers_counted_by_wrk_alone_still_make_the_run_worthless():
    """sessions.lua reports wrk's own count of 4xx/5xx answers, without a breakdown by status."""
    line = ("wrk-result requests=120 duration_us=1000000 p50_us=3.0 p99_us=9.0 failed=3 statuses=- "
            "connect_errors=0 read_errors=0 write_errors=0 timeouts=0")
    assert parse_wrk_output(line).problem() == "3 of 120 answers were not 2xx"
