import { exportPages } from '../../shared/composition/export.js';
import { rateLimiter } from '../../shared/composition/tenancy.js';
import { readExportPage } from '../../shared/metering/export-pages.js';
import { checkedBy } from '../../shared/platform/http.js';
import { createExportApi } from './export-api.js';

const pages = exportPages();

export const handler = createExportApi({ page: (q) => readExportPage(pages, q) }).use(checkedBy(rateLimiter()));
