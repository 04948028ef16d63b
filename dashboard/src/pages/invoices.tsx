import { useState } from 'preact/hooks';
import { openDocument } from '../api.js';
import { dateTime, day, lastDay, money, withUnit } from '../format.js';
import { useApi } from '../hooks.js';
import type { Invoice, InvoiceSummary, Upcoming } from '../types.js';
import { Empty, ErrorBox, Load, Page, Status } from '../ui.js';

export function Invoices() {
  const list = useApi<{ invoices: InvoiceSummary[] }>('/v1/invoices');
  const upcoming = useApi<Upcoming>('/v1/invoices/upcoming');
  return (
    <Page title="Invoices">
      <Load state={list} what="invoices">
        {({ invoices }) => (
          <div class="table-scroll">
            <table class="list">
              <thead>
                <tr>
                  <th scope="col">Invoice</th>
                  <th scope="col">Period</th>
                  <th scope="col">Issued</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">
                    Total
                  </th>
                </tr>
              </thead>
              <tbody>
                {upcoming.data && (
                  <tr>
                    <td>Upcoming</td>
                    <td>
                      {day(upcoming.data.periodStart, upcoming.data.timeZone)} – {lastDay(upcoming.data.periodEnd, upcoming.data.timeZone)}
                    </td>
                    <td>at period end</td>
                    <td>
                      <Status status="draft" />
                    </td>
                    <td class="num">{money(upcoming.data.total, upcoming.data.currency)} so far</td>
                  </tr>
                )}
                {invoices.map((i) => (
                  <tr>
                    <td>
                      <a href={`#/invoices/${encodeURIComponent(i.id)}`}>{i.number}</a>
                    </td>
                    <td>
                      {day(i.periodStart, i.timeZone)} – {lastDay(i.periodEnd, i.timeZone)}
                    </td>
                    <td>{day(i.issuedAt, i.timeZone)}</td>
                    <td>
                      <Status status={i.status} />
                    </td>
                    <td class="num">{money(i.total, i.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {invoices.length === 0 && <Empty>No invoices yet: the first is issued when the current period closes.</Empty>}
          </div>
        )}
      </Load>
    </Page>
  );
}

export function InvoiceDetail({ id }: { id: string }) {
  const state = useApi<Invoice>(`/v1/invoices/${encodeURIComponent(id)}`);
  const [failure, setFailure] = useState<Error>();
  const run = (action: () => Promise<void>) => () => action().then(() => setFailure(undefined), setFailure);
  return (
    <Load state={state} what={`invoice ${id}`}>
      {(i) => (
        <Page
          title={`Invoice ${i.number}`}
          actions={
            <div class="actions">
              <button type="button" onClick={run(() => openDocument(`/v1/invoices/${encodeURIComponent(i.id)}/html`))}>
                Printable page
              </button>
              <button
                type="button"
                class="primary"
                onClick={run(() => openDocument(`/v1/invoices/${encodeURIComponent(i.id)}/pdf`, `${i.number}.pdf`))}
              >
                Download PDF
              </button>
            </div>
          }
        >
          <p>
            <a href="#/invoices">← All invoices</a>
          </p>
          {failure && <ErrorBox error={failure} />}
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <Status status={i.status} />
            </dd>
            <dt>Period</dt>
            <dd>
              {day(i.periodStart, i.timeZone)} – {lastDay(i.periodEnd, i.timeZone)}
              {i.timeZone && <span class="muted"> (days as in {i.timeZone})</span>}
            </dd>
            <dt>Issued</dt>
            <dd>{dateTime(i.issuedAt)}</dd>
          </dl>
          <div class="table-scroll">
            <table class="lines">
              <thead>
                <tr>
                  <th scope="col">Description</th>
                  <th scope="col" class="num">
                    Quantity
                  </th>
                  <th scope="col" class="num">
                    Amount
                  </th>
                </tr>
              </thead>
              <tbody>
                {i.lines.map((l) => (
                  <tr class={l.kind}>
                    <td>{l.description}</td>
                    <td class="num">
                      {l.kind === 'base'
                        ? l.quantity === '1'
                          ? '1 period'
                          : `${l.quantity} of the period`
                        : withUnit(l.quantity, l.unit ?? 'unit')}
                    </td>
                    <td class="num">{money(l.amount, i.currency)}</td>
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th scope="row" colSpan={2}>
                    Subtotal
                  </th>
                  <td class="num">{money(i.subtotal, i.currency)}</td>
                </tr>
                <tr>
                  <th scope="row" colSpan={2}>
                    Tax
                  </th>
                  <td class="num">{money(i.tax, i.currency)}</td>
                </tr>
                <tr class="total">
                  <th scope="row" colSpan={2}>
                    Total
                  </th>
                  <td class="num" data-testid="invoice-total">
                    {money(i.total, i.currency)}
                  </td>
                </tr>
              </tfoot>
            </table>
          </div>
        </Page>
      )}
    </Load>
  );
}
