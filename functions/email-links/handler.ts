import { emailStore } from '../../shared/composition/alerts.js';
import { emailLinkKey } from '../../shared/composition/email.js';
import { createEmailLinks } from './email-links.js';

export const handler = createEmailLinks({ store: emailStore(), linkKey: emailLinkKey, now: Date.now });
