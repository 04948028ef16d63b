import type { InvoiceDocument } from '../../shared/billing/invoice-document.js';
import type { Party } from '../../shared/billing/parties.js';

/**
 * An invoice as a self-contained printable HTML page (no scripts, no external assets), with print CSS
 * for A4/Letter. The PDF (pdf.ts) renders the same document.
 */
export function renderInvoiceHtml(doc: InvoiceDocument): string {
  const rows = doc.lines.map(
    (line) =>
      `<tr class="${line.adjustment ? 'adjustment' : ''}"><td>${esc(line.description)}${line.details.map((d) => `<small>${esc(d)}</small>`).join('')}</td>` +
      `<td class="num">${esc(line.quantity)}</td><td>${esc(line.rate)}</td><td class="num">${esc(line.amount)}</td></tr>`,
  );
  const payment = doc.paymentUrl
    ? `<p class="pay">Pay online: <a href="${esc(doc.paymentUrl)}">${esc(doc.paymentUrl)}</a></p>`
    : doc.paymentInstructions
      ? `<p class="pay">${esc(doc.paymentInstructions)}</p>`
      : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Invoice ${esc(doc.number)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#111;max-width:900px;margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 1rem}.parties{display:flex;gap:2rem;justify-content:space-between;margin:1rem 0}
.parties h2{font-size:.8rem;text-transform:uppercase;color:#555;margin:0 0 .25rem}dl{display:grid;grid-template-columns:auto auto;gap:.1rem 1rem;margin:0}
dt{color:#555}dd{margin:0}table{width:100%;border-collapse:collapse;margin-top:1rem}
th,td{padding:.4rem .5rem;border-bottom:1px solid #ddd;vertical-align:top;text-align:left}
th{font-size:.8rem;text-transform:uppercase;color:#555}.num{text-align:right;white-space:nowrap}
tr.adjustment td{background:#fff8e1}small{color:#555;display:block}
.totals{margin-left:auto;width:320px}.totals td{border:0}.totals tr.total td{font-weight:700;border-top:2px solid #111}
.status{display:inline-block;padding:.1rem .5rem;border:1px solid #111;border-radius:3px;text-transform:uppercase;font-size:.8rem}
.pay{margin-top:1.5rem;padding:.75rem;border:1px solid #ddd}
@media print{body{margin:0;max-width:none}@page{size:auto;margin:15mm}tr{page-break-inside:avoid}}
</style></head><body>
<h1>Invoice ${esc(doc.number)} <span class="status">${esc(doc.status)}</span></h1>
<div class="parties">
<div><h2>From</h2>${party(doc.seller)}</div>
<div><h2>Bill to</h2>${party(doc.customer)}</div>
<dl><dt>Issued</dt><dd>${esc(doc.issued)}</dd><dt>Due</dt><dd>${esc(doc.due)}</dd>
<dt>Period</dt><dd>${esc(doc.periodFrom)} to ${esc(doc.periodTo)}${doc.trial ? ' (trial)' : ''}${doc.progressive ? ` (${esc(doc.progressive)})` : ''}</dd><dt>Currency</dt><dd>${esc(doc.currency)}</dd></dl>
</div>
<table><thead><tr><th>Description</th><th class="num">Quantity</th><th>Price</th><th class="num">Amount</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
<table class="totals"><tbody>
<tr><td>Subtotal</td><td class="num">${esc(doc.subtotal)}</td></tr>
<tr><td>${esc(doc.taxLabel)}</td><td class="num">${esc(doc.tax)}</td></tr>
<tr class="total"><td>Total due ${esc(doc.due)}</td><td class="num">${esc(doc.total)}</td></tr>
</tbody></table>
${payment}
</body></html>
`;
}

function party(p: Party): string {
  const lines = [
    `<strong>${esc(p.name)}</strong>`,
    ...p.address.map(esc),
    ...(p.taxId ? [`Tax ID: ${esc(p.taxId)}`] : []),
    ...(p.email ? [esc(p.email)] : []),
  ];
  return `<div>${lines.join('<br>')}</div>`;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
