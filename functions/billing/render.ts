import type { Invoice } from '../../shared/billing/invoices.js';
import type { InvoiceLine } from '../../shared/billing/pricing.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { formatMoney } from '../../shared/kernel/money.js';

/**
 * An invoice as a self-contained printable HTML page (no scripts, no external assets): the browser's
 * "Print → Save as PDF" gives the PDF, with print CSS for A4/Letter.
 */
export function renderInvoiceHtml(invoice: Invoice): string {
  const money = (amount: string) => esc(formatMoney(amount, invoice.currency));
  const day = (iso: string) => esc(iso.slice(0, 10));
  const rows = invoice.lines.map(
    (line) =>
      `<tr class="${line.kind}"><td>${esc(line.description)}${detail(line)}</td><td class="num">${esc(quantityText(line))}</td><td class="num">${esc(line.included ?? '')}</td><td class="num">${esc(line.kind === 'base' ? '' : (line.billable ?? ''))}</td><td>${esc(rate(line))}</td><td class="num">${money(line.amount)}</td></tr>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Invoice ${esc(invoice.number)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#111;max-width:900px;margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem;margin:0}.meta{display:flex;justify-content:space-between;margin:1rem 0 1.5rem}
table{width:100%;border-collapse:collapse}th,td{padding:.4rem .5rem;border-bottom:1px solid #ddd;vertical-align:top;text-align:left}
th{font-size:.8rem;text-transform:uppercase;color:#555}.num{text-align:right;white-space:nowrap}
tr.adjustment td{background:#fff8e1}small{color:#555;display:block}
.totals{margin-left:auto;width:320px;margin-top:1rem}.totals td{border:0}.totals tr.total td{font-weight:700;border-top:2px solid #111}
.status{display:inline-block;padding:.1rem .5rem;border:1px solid #111;border-radius:3px;text-transform:uppercase;font-size:.8rem}
@media print{body{margin:0;max-width:none}@page{size:auto;margin:15mm}tr{page-break-inside:avoid}}
</style></head><body>
<h1>Invoice ${esc(invoice.number)}</h1>
<div class="meta"><div>Billed to: <strong>${esc(invoice.tenantId)}</strong><br>Period: ${day(invoice.periodStart)} to ${day(invoice.periodEnd)} (end exclusive, UTC)${invoice.trial ? ' — trial' : ''}</div>
<div>Issued: ${day(invoice.issuedAt)}<br>Status: <span class="status">${esc(invoice.status)}</span><br>Currency: ${esc(invoice.currency)}</div></div>
<table><thead><tr><th>Description</th><th class="num">Quantity</th><th class="num">Included</th><th class="num">Billable</th><th>Price</th><th class="num">Amount</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
<table class="totals"><tbody>
<tr><td>Subtotal</td><td class="num">${money(invoice.subtotal)}</td></tr>
<tr><td>Tax (${esc(new Dec(invoice.taxRate).times(100).toFixed())}%)</td><td class="num">${money(invoice.tax)}</td></tr>
<tr class="total"><td>Total</td><td class="num">${money(invoice.total)}</td></tr>
</tbody></table>
</body></html>
`;
}

function quantityText(line: InvoiceLine): string {
  if (line.kind === 'base') return line.quantity === '1' ? '1 period' : `${line.quantity} of the period`;
  return `${line.quantity} ${line.unit ?? ''}`.trim();
}

function rate(line: InvoiceLine): string {
  const p = line.price;
  if (!p) return '';
  switch (p.model) {
    case 'free':
      return 'free';
    case 'perUnit':
      return `${p.unitPrice} per ${line.unit ?? 'unit'}`;
    case 'package':
      return `${p.packagePrice} per ${p.packageSize} ${line.unit ?? 'units'}${p.rounding === 'up' ? ', whole packages' : ', prorated'}`;
    case 'quota':
      return p.included === 'unlimited' ? 'unlimited' : `${p.unitPrice} per ${line.unit ?? 'unit'} over ${p.included}`;
    case 'graduated':
    case 'volume':
      return `${p.model} tiers`;
  }
}

function detail(line: InvoiceLine): string {
  const base =
    line.kind === 'base' && line.from && line.to && line.quantity !== '1'
      ? `<small>${esc(line.from.slice(0, 10))} to ${esc(line.to.slice(0, 10))}</small>`
      : '';
  const tiers = (line.tiers ?? []).map(
    (t) =>
      `<small>${esc(t.quantity)} at ${esc(t.unitPrice)}${new Dec(t.flatFee).isZero() ? '' : ` + ${esc(t.flatFee)}`} (up to ${esc(t.upTo ?? '∞')})</small>`,
  );
  return base + tiers.join('');
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
