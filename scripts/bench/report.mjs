// Turns measurements into rows (the same rows go to the terminal table and
// to .bench/results.json). Definitions, also in docs/benchmarks.md:
//   MiB/s   = dataset bytes / 2^20 / wall seconds
//   files/s = dataset files / wall seconds
//   Cairn/ref = reference seconds / Cairn seconds for the same operation and
//               dataset (> 1 means Cairn is faster).
const MiB = 1024 * 1024;

export function row(dataset, operation, tool, m, data) {
  return {
    dataset,
    operation,
    tool,
    seconds: round(m.seconds, 3),
    mibPerSec: round(data.bytes / MiB / m.seconds, 1),
    filesPerSec: Math.round(data.files / m.seconds),
    peakRssMiB: m.peakRssKiB ? round(m.peakRssKiB / 1024, 1) : null,
    ratio: null,
  };
}

/** Fills `ratio` on each Cairn row that has a reference row for the same dataset and operation. */
export function addRatios(rows) {
  for (const r of rows) {
    if (r.tool !== 'cairn') continue;
    const ref = rows.find((x) => x.tool === 'tar+zstd' && x.dataset === r.dataset && x.operation === r.operation);
    if (ref) r.ratio = round(ref.seconds / r.seconds, 2);
  }
  return rows;
}

/**
 * One row per dataset, operation and tool from several rounds of rows: the median seconds (and the
 * speeds of that), the highest peak RSS, and as ratio the median of the rounds' own ratios (a round's
 * reference and Cairn ran minutes apart, rounds may be far apart), with every round's in `ratios`.
 * With one round the rows come back as they are.
 */
export function medianRows(rounds) {
  if (rounds.length === 1) return rounds[0];
  return rounds[0].map((first) => {
    const same = rounds.map((rs) => rs.find((r) => r.dataset === first.dataset && r.operation === first.operation && r.tool === first.tool)).filter(Boolean);
    const seconds = median(same.map((r) => r.seconds));
    const ratios = same.map((r) => r.ratio).filter((x) => x != null);
    const rss = same.map((r) => r.peakRssMiB).filter((x) => x != null);
    return {
      ...first,
      seconds: round(seconds, 3),
      mibPerSec: round((first.mibPerSec * first.seconds) / seconds, 1),
      filesPerSec: Math.round((first.filesPerSec * first.seconds) / seconds),
      peakRssMiB: rss.length ? Math.max(...rss) : null,
      ratio: ratios.length ? round(median(ratios), 2) : null,
      ratios: ratios.length ? ratios : undefined,
      rounds: same.length,
    };
  });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function formatTable(rows) {
  const head = ['dataset', 'operation', 'tool', 'seconds', 'MiB/s', 'files/s', 'Cairn/ref', 'peak RSS MiB'];
  const body = rows.map((r) => [r.dataset, r.operation, r.tool, r.seconds.toFixed(3), String(r.mibPerSec), String(r.filesPerSec),
    r.ratio == null ? '' : `${r.ratio.toFixed(2)}×${r.ratios ? ` [${r.ratios.map((x) => x.toFixed(2)).join(' ')}]` : ''}`, r.peakRssMiB == null ? '?' : String(r.peakRssMiB)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
