// Generated strings on which the counter page's maskNumbers is compared with the server's
// trust::privacy::mask_numbers (counter.mjs): each string is one to seven pieces side by side,
// a single piece being a whole field. The pieces are the cases the two rules tell apart:
// people's and cards' numbers in groups (every common grouping, every separator, the
// punctuation `/`, `.` and `,` and its full-width forms `／`, `．` and `，`, the ideographic
// `、` and `。` that join nothing, an X after 17 digits, full-width digits), runs of digits
// of every length, dates and ranges of them in several writings, times, amounts grouped in
// thousands, organisations' codes, letters and punctuation. The generator is seeded, so
// every run compares the same strings.
const SEPARATORS = [" ", "-", " - ", "－", "\u2010", "\u2012", "\u2015", "\u3000", "\u00a0", "\t", "\n", "  ", "\u200b", "\ufeff", "\u2060", "\u2212", "\u202f", "/", ".", ",", ". ", " / ", "\uff0f", "\uff0e", "\uff0c", "\uff0c ", "\u3001", "\u3002"];
const GROUPINGS = [
  [6, 8, 4], [6, 4, 4, 4], [3, 3, 8, 4], [6, 8, 3, "X"], [6, 4, 4, 3, "X"], [6, 6, 3], [6, 9],
  [4, 4, 4, 4], [4, 4, 4, 4, 2], [4, 4, 4, 4, 3], [4, 4, 4, 4, 1, "X"], [6, 13], [13, 5], [8, 8],
  [4, 4, 4], [4, 4, 4, 2], [6, 8, 2, 2], [2, 4, 8, 4], [3, 3, 3, 3, 3], [1, 3, 3, 3, 3, 3], [8, 6],
];
const WORDS = ["号", "身份证：", "卡号", "于", "，", "。", "a", "法定代表人", "（", "）", ":", "元", "至", "X", "x", "Ｘ", "L", "N", "年"];
const CODES = ["91110000600037341L", "91110000600037341N", "121200004013590816", "410102196804120211", "41010219680412021X", "91410104MACKHWBA9J"];

/** `count` strings from a xorshift32 generator started at `seed`. */
export function generatedTexts(count, seed = 0x6d61736b) {
  let state = seed >>> 0 || 1;
  const below = (n) => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state % n;
  };
  const pick = (xs) => xs[below(xs.length)];
  const digit = (d) => (below(6) === 0 ? String.fromCharCode(0xff10 + d) : String(d));
  const digits = (n) => Array.from({ length: n }, () => digit(below(10))).join("");
  const two = (lo, hi) => String(lo + below(hi - lo + 1)).padStart(2, "0");
  const date = () => {
    const [y, m, d] = [String(1990 + below(40)), two(1, 12), two(1, 31)];
    switch (below(5)) {
      case 0: return `${y}${m}${d}`;
      case 1: return `${y}${pick(SEPARATORS)}${m}${pick(SEPARATORS)}${d}`;
      case 2: return `${y}年${m}月${d}日`;
      default: return `${y}-${m}-${d}`;
    }
  };
  const time = () => {
    const sep = pick([":", " ", "-"]);
    return [two(0, 23), two(0, 59), two(0, 59)].join(sep);
  };
  const grouped = () => {
    const grouping = pick(GROUPINGS);
    const same = below(2) === 0 ? pick(SEPARATORS) : null;
    let out = "";
    grouping.forEach((g, i) => {
      if (g === "X") {
        out += pick(["X", "x", "Ｘ", "ｘ"]);
        return;
      }
      if (i > 0) out += same ?? pick(SEPARATORS);
      out += digits(g);
    });
    return out;
  };
  const piece = () => {
    switch (below(12)) {
      case 0: case 1: case 2: return grouped();
      case 3: return date();
      case 4: return `${date()}${pick([" - ", "-", " ", "－", " 至 ", "—", "~"])}${date()}`;
      case 5: return below(2) ? `${date()} ${time()}` : time();
      case 6: return [String(1 + below(999)), ...Array.from({ length: 3 + below(4) }, () => digits(3))].join(pick([" ", "\u00a0", ",", "\u2009"]));
      case 7: return digits(1 + below(24));
      case 8: return pick(SEPARATORS);
      case 9: return pick(CODES);
      default: return pick(WORDS);
    }
  };
  return Array.from({ length: count }, () => Array.from({ length: 1 + below(7) }, piece).join(""));
}
