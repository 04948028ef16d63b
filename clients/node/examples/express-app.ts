import { Meterline } from '@meterline/client';
import { meterline } from '@meterline/client/express';
import express from 'express';

const client = new Meterline({ apiKey: process.env.METERLINE_API_KEY!, baseUrl: process.env.METERLINE_API_URL! });

export const app = express();
app.use(
  meterline({
    client,
    meter: 'api_calls',
    // Set by the product's own authentication in front of this middleware.
    tenant: (req) => req.get('x-tenant-id'),
    quota: {},
  }),
);
app.get('/estimates/:id', (req, res) => {
  res.json({ estimate: req.params.id });
});

export const server = app.listen(Number(process.env.PORT ?? 3000));
// Send what is buffered before the process exits.
process.once('SIGTERM', () => server.close(() => void client.shutdown()));
