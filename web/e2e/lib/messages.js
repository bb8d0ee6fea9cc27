// Message sets that make transports sweat. Every string here must come back
// byte for byte; lone surrogates are left out on purpose (they are not
// Unicode scalar values, so a JSON decoder may replace them with U+FFFD).

const range = (from, to) => {
  let s = '';
  for (let c = from; c <= to; c++) s += String.fromCharCode(c);
  return s;
};

export const HOSTILE = [
  '',
  'plain ascii',
  ' ',
  '"double" \'single\' `back`',
  'back\\slash \\\\ \\" \\u0041 \\n',
  'line\nfeed, carriage\rreturn, both\r\n, tab\t.',
  '\n',
  '\r\n\r\n',
  'data: not an event\r\n\r\nevent: x',
  '\u2028 LINE SEPARATOR, \u2029 PARAGRAPH SEPARATOR',
  'C0 controls: ' + range(0x00, 0x1f) + ' DEL: \u007f',
  'C1 controls: ' + range(0x80, 0x9f),
  '\u0000',
  'NUL in the \u0000 middle',
  'non-BMP: 😀 𝌆 𐍈 🏳️‍🌈 👩🏽‍💻 \u{10FFFF} \u{E0001}',
  'BMP oddities: é ß ø € ✓ 中文 日本語 한국어 עברית العربية',
  'combining: e\u0301 a\u0300\u0301\u0302 \u0358\u0362 \u1dc0',
  'format chars: \u200b\u200c\u200d\u200e\u200f \u202a\u202e \u2060\u2061\u206f \ufeff',
  'specials: \ufff0\ufff9\ufffa\ufffb\ufffc\ufffd\ufffe\uffff',
  'escapes the client sends as \\u: \u0300\u0374\u037e\u2126\uf900\ufb1d',
  '</script>',
  '</script><script>try{top.__pwned=1}catch(e){}try{parent.__pwned=1}catch(e){}window.__pwned=1</script>',
  '<script>try{top.__pwned=2}catch(e){}try{parent.__pwned=2}catch(e){}</script>',
  '<!-- --> <![CDATA[ ]]> <iframe src="javascript:1"></iframe> <img src=x onerror=alert(1)>',
  '</SCRIPT ><sCrIpT>window.__pwned=3</ScRiPt>',
  '");window.__pwned=4;//',
  "');window.__pwned=5;//",
  '*/window.__pwned=6;/*',
  '["a","b"]',
  'a["x"]',
  'o',
  'h',
  'c',
  'm"x"',
  'c[3000,"Go away!"]',
  'c[1000,"Normal closure"]',
  '{"json": true, "n": [1, 2, 3]}',
  'null',
  'true',
  '0',
  '[]',
  '{}',
  '"',
  '\\',
  '%',
  '%25 %zz %E2%82 %u2028 %%',
  '+ & = ? # d=1&c=2',
  'a'.repeat(1000),
  ['mixed', '😀', '\u2028', '</script>', '%', '"', '\\', '\n', '\u0000'].join('').repeat(200),
];

// big returns a string of about `bytes` characters (ASCII with some escapes
// and non-BMP characters mixed in), deterministic for a given seed.
export function big(bytes, seed) {
  const parts = [];
  let n = 0;
  let i = 0;
  while (n < bytes) {
    let p = `${seed}:${i} the quick brown fox jumps over the lazy dog `;
    if (i % 97 === 0) p += '😀"\\\n</script>%\u2028';
    parts.push(p);
    n += p.length;
    i++;
  }
  return parts.join('').slice(0, bytes);
}

// numbered returns count messages "prefix-000000 …" of about size bytes.
export function numbered(prefix, count, size = 16) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const head = `${prefix}-${String(i).padStart(6, '0')}`;
    out.push(head + (size > head.length ? ' ' + 'x'.repeat(size - head.length - 1) : ''));
  }
  return out;
}

// describeMismatch explains the first difference between two message lists
// without dumping hundreds of KiB into the test output.
export function describeMismatch(want, got) {
  const show = (s) => (s === undefined ? 'nothing' : JSON.stringify(s.length > 120 ? s.slice(0, 120) + '…' : s) + ` (${s.length} chars)`);
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    if (want[i] === got[i]) continue;
    if (i >= got.length) return `only ${got.length} of ${want.length} messages came back; first missing #${i}: ${show(want[i])}`;
    if (i >= want.length) return `${got.length - want.length} extra message(s), first #${i}: ${show(got[i])}`;
    const elsewhere = got.indexOf(want[i]);
    let j = 0;
    while (j < want[i].length && want[i][j] === got[i][j]) j++;
    const ctx = (s) => JSON.stringify(s.slice(Math.max(0, j - 20), j + 20));
    return `message #${i} differs at char ${j}: sent ${show(want[i])}, got ${show(got[i])}; ` +
      `around the difference sent ${ctx(want[i])} got ${ctx(got[i])}` +
      (elsewhere >= 0 ? `; the sent message came back at #${elsewhere} instead (order)` : '');
  }
  return '';
}
