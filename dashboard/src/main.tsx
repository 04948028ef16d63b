import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { adoptSignInToken, forgetToken, loadConfig, send, token } from './api.js';
import { dateTime } from './format.js';
import { useApi, useRoute } from './hooks.js';
import { Alerts } from './pages/alerts.js';
import { Console } from './pages/console.js';
import { InvoiceDetail, Invoices } from './pages/invoices.js';
import { Mailbox } from './pages/mailbox.js';
import { Overview } from './pages/overview.js';
import { Plan } from './pages/plan.js';
import { Usage } from './pages/usage.js';
import type { Whoami } from './types.js';
import { ErrorBox, Loading } from './ui.js';

const tenantPages = [
  ['', 'Overview'],
  ['usage', 'Usage'],
  ['invoices', 'Invoices'],
  ['alerts', 'Alerts'],
  ['plan', 'Plan & billing'],
] as const;

function SignedOut() {
  return (
    <main id="main" class="signed-out">
      <h1>Meterline</h1>
      <p>Open the dashboard with the sign-in link your product gives you. Links expire; ask for a new one when yours has.</p>
    </main>
  );
}

function App() {
  const me = useApi<Whoami>('/v1/dashboard/session');
  const route = useRoute();
  const [signedOut, setSignedOut] = useState(false);
  useEffect(() => {
    if (me.data?.role === 'admin' && route[0] !== 'console' && route[0] !== 'mailbox') location.hash = '#/console';
  }, [me.data, route[0]]);

  if (signedOut) return <SignedOut />;
  if (me.error) {
    return (
      <main id="main">
        <ErrorBox error={me.error} retry={me.reload} />
      </main>
    );
  }
  if (!me.data) return <Loading what="your account" />;

  const signOut = async () => {
    const id = me.data?.sessionId;
    if (id) await send('DELETE', `/v1/dashboard/sessions/${id}`).catch(() => undefined);
    forgetToken();
    setSignedOut(true);
  };
  const admin = me.data.role === 'admin';
  const pages = admin
    ? ([
        ['console', 'Console'],
        ['mailbox', 'Mailbox'],
      ] as const)
    : tenantPages;
  const current = route[0] ?? '';
  return (
    <>
      <button type="button" class="skip" onClick={() => document.querySelector<HTMLElement>('#main h1')?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <div class="brand">
          <strong>Meterline</strong>
          <span class="who">{admin ? 'Operator console' : me.data.tenant?.name}</span>
        </div>
        <nav aria-label="Main">
          {pages.map(([path, label]) => (
            <a href={`#/${path}`} aria-current={current === path ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <div class="session">
          {me.data.expiresAt && <span class="muted">Session until {dateTime(me.data.expiresAt)}</span>}
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        {admin && current === 'mailbox' ? (
          <Mailbox id={route[1]} />
        ) : admin ? (
          <Console />
        ) : current === 'usage' ? (
          <Usage />
        ) : current === 'invoices' && route[1] ? (
          <InvoiceDetail id={route[1]} />
        ) : current === 'invoices' ? (
          <Invoices />
        ) : current === 'alerts' ? (
          <Alerts />
        ) : current === 'plan' ? (
          <Plan />
        ) : (
          <Overview />
        )}
      </main>
    </>
  );
}

async function start() {
  adoptSignInToken();
  const root = document.getElementById('app')!;
  await loadConfig();
  render(token() ? <App /> : <SignedOut />, root);
}

void start();
