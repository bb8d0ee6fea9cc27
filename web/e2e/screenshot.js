// Takes a screenshot of the demo page after using it a little.
//   node screenshot.js http://127.0.0.1:8080/ out.png [transport] [dark]
import { launch, newContext } from './lib/browser.js';

const [url = 'http://127.0.0.1:8080/', out = 'demo.png', transport = 'websocket', scheme = 'light'] = process.argv.slice(2);
const browser = await launch();
const b = { ...(await newContext(browser)), close: () => browser.close() };
try {
  const page = await b.context.newPage();
  await page.emulateMedia({ colorScheme: scheme });
  page.on('console', (m) => console.log('console:', m.type(), m.text()));
  page.on('pageerror', (e) => console.log('pageerror:', e.message));
  await page.goto(url);
  await page.selectOption('#transport', transport);
  const echo = page.locator('#echo');
  await echo.locator('[data-role=connect]').click();
  await echo.locator('[data-role=state][data-state=open]').waitFor({ timeout: 10000 });
  for (const m of ['Hello, sockjsd!', 'Ünïcödé 👋 and "quotes"', '</script><b>not bold</b>']) {
    await page.fill('#echo-input', m);
    await page.press('#echo-input', 'Enter');
  }
  await page.click('#echo-ping');
  await page.waitForFunction(() => document.querySelector('#rtt-n').textContent === '23', null, { timeout: 10000 });
  const chat = page.locator('#chat');
  await page.fill('#chat-name', 'ada');
  await chat.locator('[data-role=connect]').click();
  await chat.locator('[data-role=state][data-state=open]').waitFor({ timeout: 10000 });
  await page.fill('#chat-input', 'Anyone here?');
  await page.press('#chat-input', 'Enter');
  await page.locator('#closer [data-role=connect]').click();
  await page.locator('#closer [data-role=close]').filter({ hasText: '3000' }).waitFor({ timeout: 10000 });
  await page.waitForTimeout(300);
  await page.screenshot({ path: out, fullPage: true });
  console.log('wrote', out);
} finally {
  await b.close();
}
