// Drives the counter page of a running `credgate serve --demo` (BASE_URL) in Debian's headless
// Chromium, as a clerk would: typing codes, choosing scenarios, searching by name, uploading a
// batch. Every step asserts what the page shows; the first failure ends the run with exit 1.
// Run by tests/browser/run.sh, which starts the server and installs playwright-core.
import { chromium } from "playwright-core";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xlsx } from "./xlsx.mjs";

const BASE = process.env.BASE_URL;
const SHOTS = process.env.SCREENSHOTS;
const AS_OF = process.env.AS_OF || "2026-11-28";
// A server with API keys (optional): a token that may check, one that may only search.
const KEYED = process.env.KEYED_URL;
const TOKEN_CHECK = process.env.TOKEN_CHECK;
const TOKEN_SEARCH = process.env.TOKEN_SEARCH;
if (!BASE || !SHOTS) throw new Error("BASE_URL and SCREENSHOTS must be set (run tests/browser/run.sh)");

const steps = [];
function check(cond, what, detail = "") {
  if (!cond) throw new Error(`FAILED: ${what}${detail ? `\n  ${detail}` : ""}`);
  steps.push(what);
  console.log(`ok - ${what}`);
}

const profile = mkdtempSync(join(tmpdir(), "credgate-chromium-"));
// Background networking, component updates and sync make Chromium open connections of its
// own, which closed networks (and CI) refuse; the page itself needs only BASE.
// Playwright wants the fresh profile directory as the persistent context's directory rather
// than as a --user-data-dir argument; it passes it to Chromium as that flag.
const context = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  viewport: { width: 1280, height: 800 },
  locale: "zh-CN",
  acceptDownloads: true,
});

let failed = false;
try {
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    // A refused request shows as a console error too; 422 is the expected answer to an
    // invalid code, so only other failures count.
    // On the keyed server 401 and 403 are expected answers too.
    if (m.type() === "error" && !/status of (401|403|422)/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));

  // --- The page and its headers.
  const resp = await page.goto(BASE + "/");
  check(resp.status() === 200, "GET / answers 200");
  const headers = resp.headers();
  check(headers["content-type"].startsWith("text/html"), "the page is text/html", headers["content-type"]);
  check(/script-src 'self'/.test(headers["content-security-policy"] || ""), "the page has a strict CSP",
    headers["content-security-policy"]);
  check((await page.title()).includes("信用核查"), "the title is Chinese");
  await page.waitForFunction(() => /名单数据/.test(document.getElementById("snapshot").textContent));
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll("input, select")]
      .filter((e) => e.labels.length === 0 && !e.getAttribute("aria-label"))
      .map((e) => e.id));
  check(unlabelled.length === 0, "every field has a label", unlabelled.join(", "));
  check(await page.inputValue("#as-of") !== "", "as_of defaults to a date");

  const code = page.locator("#code");
  const card = page.locator("#result .card");
  const typeCode = async (text) => {
    await code.fill("");
    await code.pressSequentially(text);
  };
  const submitAndWait = async () => {
    const answered = page.waitForResponse((r) => r.url().includes("/v1/check"));
    await code.press("Enter");
    await answered;
  };
  await page.fill("#as-of", AS_OF);

  // --- A black-listed organisation in public resource trading: deny.
  await page.selectOption("#scenario", { label: "公共资源交易" });
  await typeCode("914101027110665834");
  check(/格式正确/.test(await page.textContent("#code-msg")), "a valid code is accepted as typed");
  await submitAndWait();
  let text = await card.innerText();
  check(await card.getAttribute("data-decision") === "deny", "914101027110665834 in 公共资源交易 is deny");
  check(text.includes("禁止") && text.includes("不予办理"), "the card shows the deny wording", text);
  check(text.includes("失信被执行人名单"), "the card names the list 失信被执行人名单", text);
  check(text.includes("(2024)豫0102执1234号") && text.includes("郑州市中原区人民法院"),
    "the card shows doc_no and authority", text);
  check(/依据：《实施方案》五\(二\)3/.test(text), "the measure shows its basis", text);
  await page.screenshot({ path: join(SHOTS, "01-deny-1280x800.png") });

  // --- The same code typed full-width with spaces.
  await typeCode("９１４１ ０１０２ ７１１０ ６６５８ ３４");
  check(/格式正确/.test(await page.textContent("#code-msg")), "a full-width spaced code is accepted as typed");
  await submitAndWait();
  text = await card.innerText();
  check(text.includes("914101027110665834") && text.includes("禁止"), "the full-width code gives the same deny", text);

  // --- A person's number that passes the USCC checks too is judged a person's, as the
  // server judges it.
  await typeCode("410184198003151070");
  check(/居民身份证号码格式正确/.test(await page.textContent("#code-msg")),
    "a code valid as both kinds is taken for a person's number");

  // --- A 15-digit legacy number whose birth date does not exist (1968-13-32) is an error
  // at once, not "15 / 18 typed"; 15 digits that may still become an 18-digit number are not.
  await typeCode("410102681332021");
  check(/19681332 不存在/.test(await page.textContent("#code-msg")) && await code.getAttribute("aria-invalid") === "true",
    "410102681332021: the impossible legacy birth date is an error", await page.textContent("#code-msg"));
  await typeCode("410102196804120");
  check(/已输入 15 \/ 18/.test(await page.textContent("#code-msg")), "15 digits of an 18-digit number are progress");

  // --- Screen readers hear a change of state (valid, invalid), not every key's count: the
  // message under the field is no live region, a hidden one says only the changes.
  check(await page.getAttribute("#code-msg", "aria-live") === null, "the typing message is no live region");
  await typeCode("");
  await page.evaluate(() => {
    window.__announced = [];
    new MutationObserver(() => window.__announced.push(document.getElementById("code-status").textContent))
      .observe(document.getElementById("code-status"), { childList: true, characterData: true, subtree: true });
  });
  await typeCode("41010219680412021");
  await code.pressSequentially("1");
  await code.press("Backspace");
  await code.pressSequentially("2");
  await code.press("Backspace");
  await code.pressSequentially("1");
  const announced = await page.evaluate(() => window.__announced.filter((t) => t));
  check(announced.length === 3 && /格式正确/.test(announced[0]) && /应为 1/.test(announced[1]) && /格式正确/.test(announced[2]),
    "the live region announces valid, invalid, valid and nothing while typing", JSON.stringify(announced));
  check(await page.getAttribute("#code-status", "aria-live") === "polite" &&
    (await page.locator("#code-status").boundingBox()).width <= 1,
    "the announcements are polite and not shown twice on screen");

  // --- A mistyped check character: the live message names the right one.
  await typeCode("9111000060003734");
  check(/已输入 16 \/ 18/.test(await page.textContent("#code-msg")), "a partial code shows its progress");
  await code.pressSequentially("1N");
  const msg = await page.textContent("#code-msg");
  check(/应为 L/.test(msg) && await code.getAttribute("aria-invalid") === "true",
    "91110000600037341N: the live message says the check character should be L", msg);
  const rejected = page.waitForResponse((r) => r.url().includes("/v1/check"));
  await code.press("Enter");
  check((await rejected).status() === 422, "the server refuses it with 422");
  await page.locator("#result .error-box").waitFor();
  text = await page.innerText("#result");
  check(/校验位应为 L/.test(text), "the server's expected_check L is shown", text);

  // --- A person reached through an organisation: masked number, linked-org note.
  await page.selectOption("#scenario", { label: "乘坐飞机 / 高等级列车" });
  await typeCode("410102196804120211");
  await submitAndWait();
  await card.waitFor();
  text = await card.innerText();
  check(await card.getAttribute("data-decision") === "deny", "410102196804120211 in 乘坐飞机/高等级列车 is deny");
  check(text.includes("410102********0211"), "the person's number is masked", text);
  check(!(await page.innerText("#result")).includes("196804120"), "the full number is nowhere in the card");
  check(text.includes("通过 郑州市中原区恒达建材有限公司（914101027110665834）的 法定代表人"),
    "the card says the record reaches him as legal representative of 恒达建材", text);
  check(text.includes("王建国"), "the card shows the person's name");
  check(text.includes("本人无直接记录"), "every record reaches him through a link: 本人无直接记录", text);
  await page.screenshot({ path: join(SHOTS, "02-linked-person-1280x800.png"), fullPage: true });

  // --- The same person with a record of his own besides (the demo data has none, so the
  // answer is changed on its way): 本人无直接记录 would be false.
  await page.route("**/v1/check?*", async (route) => {
    const answer = await route.fetch();
    const d = await answer.json();
    const own = { ...d.records[0], record_id: "OWN-1", list_name: "本人记录" };
    delete own.via;
    d.records.unshift(own);
    await route.fulfill({ response: answer, json: d });
  });
  await submitAndWait();
  await page.waitForFunction(() => /OWN-1/.test(document.querySelector("#result .card")?.innerText || ""));
  text = await card.innerText();
  check(!text.includes("本人无直接记录") && /除本人的 1 条记录外，另有 [0-9]+ 条记录因其在失信单位中的任职而及于本人/.test(text),
    "own and linked records: the note counts both and does not say 本人无直接记录", text);
  await page.unroute("**/v1/check?*");

  // --- Name search: suggestions, keyboard pick, the code field filled and checked.
  const name = page.locator("#name");
  await name.click();
  await name.pressSequentially("郑州市中原区恒达");
  const option = page.locator("#suggestions [role=option]", { hasText: "恒达建材" });
  await option.waitFor();
  check(await name.getAttribute("aria-expanded") === "true", "the suggestion list opens");
  await page.screenshot({ path: join(SHOTS, "03-search-1280x800.png") });
  const checked = page.waitForResponse((r) => r.url().includes("/v1/check"));
  await name.press("Enter");
  await checked;
  check(await code.inputValue() === "914101027110665834", "picking 恒达建材 fills the code field");
  await page.waitForFunction(() => document.querySelector("#result .card")?.innerText.includes("914101027110665834"));
  check(await card.getAttribute("data-decision") === "deny", "and checks it at once");

  // --- Keyboard order: name search, code, scenario.
  await name.focus();
  await page.keyboard.press("Tab");
  check(await page.evaluate(() => document.activeElement.id) === "code", "Tab goes from the name search to the code");
  await page.keyboard.press("Tab");
  check(await page.evaluate(() => document.activeElement.id) === "scenario", "then to the scenario");

  // --- Tablet width: one column, nothing wider than the screen.
  await page.setViewportSize({ width: 768, height: 1024 });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 768, "at 768 px the page needs no horizontal scrolling", `scrollWidth ${wide}`);
  await page.screenshot({ path: join(SHOTS, "04-deny-768x1024.png") });
  // --- Phone width: the token field and the card fit.
  await page.setViewportSize({ width: 360, height: 740 });
  const narrow = await page.evaluate(() => document.documentElement.scrollWidth);
  check(narrow <= 360, "at 360 px the page needs no horizontal scrolling", `scrollWidth ${narrow}`);
  await page.screenshot({ path: join(SHOTS, "04b-deny-360x740.png"), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });

  // --- Batch: upload a CSV, see the summary, download the results.
  await page.click("#tab-batch");
  check(await page.isVisible("#batch-form") && !(await page.isVisible("#check-form")), "the batch tab shows");
  const dir = mkdtempSync(join(tmpdir(), "credgate-batch-"));
  const csv = join(dir, "suppliers.csv");
  writeFileSync(csv, [
    // The code column is not first: the page finds it by its name.
    "名称,统一社会信用代码",
    "恒达建材,914101027110665834",
    "错码单位,91110000600037341N",
    "永兴机械,914101844590813695",
    "恒信电子,91410100MA2MAYK72W",
    "华泰装饰,91410105MA3LWF6F8Q",
    "刘洋,410184197902141699",
    "",
  ].join("\n"));
  await page.setInputFiles("#batch-file", csv);
  await page.selectOption("#batch-scenario", { label: "公共资源交易" });
  await page.fill("#batch-as-of", AS_OF);
  const screened = page.waitForResponse((r) => r.url().includes("/v1/screen"));
  await page.click("#batch-btn");
  check((await screened).status() === 200, "the batch is screened");
  await page.locator("#batch-summary").waitFor();
  const sums = await page.evaluate(() =>
    Object.fromEntries([...document.querySelectorAll("#batch-summary .sum")].map((s) =>
      [s.querySelector("dt").textContent, Number(s.querySelector("dd").textContent)])));
  check(sums["总行数"] === 6, "the summary counts 6 rows", JSON.stringify(sums));
  check(sums["禁止"] === 2 && sums["审慎审核"] === 1 && sums["绿色通道"] === 1 && sums["未发现限制"] === 1,
    "by decision: 2 deny, 1 review, 1 fast_track, 1 clear", JSON.stringify(sums));
  check(sums["代码无效"] === 1, "one invalid code", JSON.stringify(sums));
  const rows = await page.locator("#batch-result tbody tr").count();
  check(rows === 6, "the table lists 6 rows", String(rows));
  const table = await page.innerText("#batch-result table");
  check(table.includes("410184********1699") && !table.includes("410184197902141699"),
    "people's numbers are masked in the table");
  check(/第 18 位应为 L/.test(table), "the invalid row says the check character should be L", table);
  check(table.includes("失信被执行人名单") && table.includes("恒达建材"),
    "the table shows list names and the echoed name column", table);
  await page.screenshot({ path: join(SHOTS, "05-batch-1280x800.png"), fullPage: true });

  const downloading = page.waitForEvent("download");
  await page.click("#batch-download");
  const download = await downloading;
  const saved = join(dir, "out.csv");
  await download.saveAs(saved);
  const lines = readFileSync(saved, "utf8").replace(/^\ufeff/, "").trim().split(/\r?\n/);
  check(download.suggestedFilename().endsWith(".csv"), "the download is a .csv", download.suggestedFilename());
  check(lines[0].startsWith("row,名称,统一社会信用代码,decision"), "the CSV numbers the rows and keeps the input columns and their names", lines[0]);
  check(lines[1].startsWith("1,") && lines[6].startsWith("6,"), "the CSV rows carry their row numbers", lines.join("\n"));
  check(lines.length === 7, "the CSV has a header and 6 rows", String(lines.length));
  check(lines[1].includes(",deny,") && lines[2].includes("invalid_id"), "the CSV rows carry the decisions");

  // The same suppliers as an Excel workbook: sent as it is, read by the server.
  const book = join(dir, "suppliers.xlsx");
  writeFileSync(book, xlsx(readFileSync(csv, "utf8").trim().split("\n").map((l) => l.split(","))));
  await page.setInputFiles("#batch-file", book);
  const screenedBook = page.waitForResponse((r) => r.url().includes("/v1/screen"));
  await page.click("#batch-btn");
  const bookResp = await screenedBook;
  check(bookResp.status() === 200, "the workbook is screened");
  check((bookResp.request().headers()["content-type"] || "").includes("spreadsheetml"),
    "the workbook is sent as xlsx", bookResp.request().headers()["content-type"]);
  await page.waitForFunction(() => document.querySelector("#batch-result")?.textContent.includes("suppliers.xlsx"));
  await page.locator("#batch-summary").waitFor();
  const bookSums = await page.evaluate(() =>
    Object.fromEntries([...document.querySelectorAll("#batch-summary .sum")].map((s) =>
      [s.querySelector("dt").textContent, Number(s.querySelector("dd").textContent)])));
  check(JSON.stringify(bookSums) === JSON.stringify(sums), "the workbook gives the CSV's summary", JSON.stringify(bookSums));
  const bookRows = await page.locator("#batch-result tbody tr").count();
  check(bookRows === 6, "the workbook's table lists 6 rows", String(bookRows));

  await page.setViewportSize({ width: 768, height: 1024 });
  const batchWide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(batchWide <= 768, "at 768 px the batch results need no page-wide scrolling", `scrollWidth ${batchWide}`);
  await page.screenshot({ path: join(SHOTS, "06-batch-768x1024.png"), fullPage: true });
  rmSync(dir, { recursive: true, force: true });

  // --- A server with keys: the token field, 401/403 in Chinese, the token kept per tab.
  if (KEYED) {
    await page.goto(KEYED + "/");
    await page.waitForFunction(() => /需要访问令牌/.test(document.getElementById("snapshot").textContent));
    check(true, "without a token the header asks for one");
    check(await page.getAttribute("#token", "type") === "password", "the token field hides what is typed");
    const ask = async () => {
      const answered = page.waitForResponse((r) => r.url().includes("/v1/check"));
      await page.click("#check-btn");
      return (await answered).status();
    };
    await page.fill("#code", "914101027110665834");
    await page.selectOption("#scenario", { label: "公共资源交易" });
    // The card is drawn after the answer's body is read: wait for it, not for the response.
    const cardSays = async (pattern) => {
      try {
        await page.waitForFunction((src) => new RegExp(src).test(document.getElementById("result").innerText),
          pattern.source, { timeout: 5000 });
        return true;
      } catch (_) {
        return false;
      }
    };
    check(await ask() === 401, "a check without a token is refused with 401");
    check(await cardSays(/需要访问令牌/), "the card asks for the token");
    await page.fill("#token", "not-a-token");
    check(await ask() === 401, "a wrong token is refused with 401");
    check(await cardSays(/令牌无效/), "the card says 令牌无效", await page.innerText("#result"));
    await page.fill("#token", TOKEN_SEARCH);
    check(await ask() === 403, "a token without the check scope gets 403");
    await cardSays(/无此权限/);
    const denied = await page.innerText("#result");
    check(/无此权限/.test(denied) && denied.includes("单个核查") && denied.includes("check"),
      "the card says 无此权限 and names the scope", denied);
    await page.fill("#token", TOKEN_CHECK);
    await page.press("#token", "Tab"); // change event: stored and the header refreshed
    const sent = page.waitForRequest((r) => r.url().includes("/v1/check"));
    check(await ask() === 200, "with the right token the check answers 200");
    const req = await sent;
    check(req.headers()["authorization"] === "Bearer " + TOKEN_CHECK, "the token goes as a Bearer header");
    check(!req.url().includes(TOKEN_CHECK), "and never in the URL");
    check(await page.locator("#result .card").getAttribute("data-decision") === "deny",
      "the decision card shows deny");
    const stored = await page.evaluate(() => [sessionStorage.getItem("credgate.token"), localStorage.length]);
    check(stored[0] === TOKEN_CHECK && stored[1] === 0, "the token is in sessionStorage only", JSON.stringify(stored));
    await page.reload();
    check(await page.inputValue("#token") === TOKEN_CHECK, "a reload in the same tab keeps the token");
    await page.waitForFunction(() => /名单数据/.test(document.getElementById("snapshot").textContent));
    await page.screenshot({ path: join(SHOTS, "07-keyed-1280x800.png") });
  }

  check(problems.length === 0, "no script errors, CSP violations or failed requests", problems.join("\n  "));
  console.log(`# ${steps.length} checks passed`);
} catch (e) {
  failed = true;
  console.error(e.message);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
