import type { components } from '../../clients/node/src/api.js';

/**
 * The API's answers as the dashboard reads them: names for the generated types (clients/node/src/api.ts, `npm run
 * openapi`), which come from the response schemas the OpenAPI document names. Quantities and amounts are decimal strings.
 */
type Schemas = components['schemas'];

export type Whoami = Schemas['Whoami'];
export type Meter = Schemas['Meters']['meters'][number];
export type CurrentUsage = Schemas['CurrentUsage'];
export type UsageSeries = Schemas['UsageSeries'];
export type Analytics = Schemas['Analytics'];
export type Pricing = Schemas['Pricing'];
export type Price = Pricing['plan']['prices'][string];
export type PublicPlans = Schemas['PublicPlans'];
export type Simulation = Schemas['Simulation'];
export type SimulatedAmount = Simulation['periods'][number]['lines'][number]['issued'];
export type QuotaStatus = Schemas['Quotas']['quotas'][number];
export type Quotas = Schemas['Quotas'];
export type Entitlements = Schemas['Entitlements'];
export type Entitlement = Schemas['Entitlement'];
export type Credits = Schemas['Credits'];
export type InvoiceList = Schemas['InvoiceList'];
export type InvoiceSummary = InvoiceList['invoices'][number];
export type Invoice = Schemas['Invoice'];
export type InvoiceLine = Invoice['lines'][number];
export type Upcoming = Schemas['UpcomingInvoice'];
export type Alerts = Schemas['Alerts'];
export type Alert = Alerts['alerts'][number];
export type Episode = NonNullable<Alert['episodes']>[number];
export type ConsoleView = Schemas['Console'];
export type QuarantinedList = Schemas['QuarantinedList'];
export type Plans = Schemas['Plans'];
export type FleetSimulationJob = Schemas['FleetSimulationJob'];
export type FleetSummary = NonNullable<FleetSimulationJob['result']>;
export type TenantChange = FleetSummary['largestIncreases'][number];
