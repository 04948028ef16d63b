import type { InvoiceDocument } from '../../shared/billing/invoice-document.js';
import type { Party } from '../../shared/billing/parties.js';

/**
 * The invoice as a PDF (A4, PDFKit's built-in Helvetica, so nothing is read from disk): the same
 * document the printable page shows, laid out for a finance team's records.
 */
export async function renderInvoicePdf(doc: InvoiceDocument): Promise<Buffer> {
  // Loaded on the first PDF rather than at a cold start: PDFKit and its font code are the largest part of the billing
  // and email functions, and most of their invocations draw no PDF.
  const { default: PDFDocument } = await import('pdfkit');
  const pdf = new PDFDocument({
    size: 'A4',
    margin: 50,
    info: { Title: `Invoice ${doc.number}`, Author: doc.seller.name, Subject: `${doc.periodFrom} to ${doc.periodTo}` },
  });
  const chunks: Buffer[] = [];
  pdf.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    pdf.on('end', () => resolve(Buffer.concat(chunks)));
    pdf.on('error', reject);
  });

  const left = pdf.page.margins.left;
  const width = pdf.page.width - left - pdf.page.margins.right;
  pdf.font('Helvetica-Bold').fontSize(20).text(`Invoice ${doc.number}`, left, 50);
  pdf.font('Helvetica').fontSize(9).fillColor('#555').text(doc.status.toUpperCase(), left, 75);

  const top = 100;
  party(pdf, 'FROM', doc.seller, left, top, 160);
  party(pdf, 'BILL TO', doc.customer, left + 180, top, 160);
  const facts: [string, string][] = [
    ['Issued', doc.issued],
    ['Due', doc.due],
    ['Period', `${doc.periodFrom} to ${doc.periodTo}${doc.trial ? ' (trial)' : ''}${doc.progressive ? ` (${doc.progressive})` : ''}`],
    ['Currency', doc.currency],
  ];
  facts.forEach(([label, value], i) => {
    pdf
      .font('Helvetica')
      .fontSize(9)
      .fillColor('#555')
      .text(label, left + 360, top + i * 14, { width: 50 });
    pdf.fillColor('#111').text(value, left + 410, top + i * 14, { width: width - 410 });
  });

  const columns = { description: left, quantity: left + 210, rate: left + 300, amount: left + width - 80 };
  let y = Math.max(pdf.y, top + 90) + 20;
  const header = (at: number) => {
    pdf.font('Helvetica-Bold').fontSize(8).fillColor('#555');
    pdf.text('DESCRIPTION', columns.description, at);
    pdf.text('QUANTITY', columns.quantity, at, { width: 80, align: 'right' });
    pdf.text('PRICE', columns.rate + 10, at);
    pdf.text('AMOUNT', columns.amount, at, { width: 80, align: 'right' });
    pdf
      .moveTo(left, at + 12)
      .lineTo(left + width, at + 12)
      .strokeColor('#ccc')
      .stroke();
    return at + 18;
  };
  y = header(y);
  for (const line of doc.lines) {
    const description = [line.description, ...line.details].join('\n');
    pdf.font('Helvetica').fontSize(9);
    const height = Math.max(pdf.heightOfString(description, { width: 200 }), pdf.heightOfString(line.rate, { width: width - 390 })) + 8;
    if (y + height > pdf.page.height - pdf.page.margins.bottom - 80) {
      pdf.addPage();
      y = header(pdf.page.margins.top);
    }
    pdf.fillColor('#111').text(line.description, columns.description, y, { width: 200 });
    if (line.details.length) pdf.fillColor('#555').fontSize(8).text(line.details.join('\n'), { width: 200 });
    pdf.fillColor('#111').fontSize(9).text(line.quantity, columns.quantity, y, { width: 80, align: 'right' });
    pdf.text(line.rate, columns.rate + 10, y, { width: width - 390 });
    pdf.text(line.amount, columns.amount, y, { width: 80, align: 'right' });
    y += height;
    pdf
      .moveTo(left, y - 4)
      .lineTo(left + width, y - 4)
      .strokeColor('#eee')
      .stroke();
  }

  y += 8;
  const totals: [string, string, boolean][] = [
    ['Subtotal', doc.subtotal, false],
    [doc.taxLabel, doc.tax, false],
    [`Total due ${doc.due}`, doc.total, true],
  ];
  for (const [label, value, bold] of totals) {
    pdf
      .font(bold ? 'Helvetica-Bold' : 'Helvetica')
      .fontSize(bold ? 11 : 9)
      .fillColor('#111');
    pdf.text(label, left + width - 260, y, { width: 170 });
    pdf.text(value, columns.amount, y, { width: 80, align: 'right' });
    y += bold ? 18 : 14;
  }

  const payment = doc.paymentUrl ? `Pay online: ${doc.paymentUrl}` : doc.paymentInstructions;
  if (payment) {
    pdf
      .font('Helvetica')
      .fontSize(9)
      .fillColor('#111')
      .text(payment, left, y + 20, { width, ...(doc.paymentUrl ? { link: doc.paymentUrl, underline: true } : {}) });
  }
  pdf.end();
  return done;
}

function party(pdf: PDFKit.PDFDocument, title: string, p: Party, x: number, y: number, width: number): void {
  pdf.font('Helvetica-Bold').fontSize(8).fillColor('#555').text(title, x, y, { width });
  pdf
    .font('Helvetica-Bold')
    .fontSize(10)
    .fillColor('#111')
    .text(p.name, x, y + 12, { width });
  const rest = [...p.address, ...(p.taxId ? [`Tax ID: ${p.taxId}`] : []), ...(p.email ? [p.email] : [])];
  if (rest.length) pdf.font('Helvetica').fontSize(9).text(rest.join('\n'), { width });
}
