import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSIONS, effectiveRestoreKind, negotiateVersion } from './index.js';

test('restoreKind: log takes effect from API 1.3; older agents and agents without the field restore as files', () => {
  assert.ok(API_VERSIONS.some((v) => v.major === 1 && v.minor === 3), 'the host speaks 1.3');
  assert.equal(effectiveRestoreKind({ restoreKind: 'log' }, { major: 1, minor: 3 }), 'log');
  assert.equal(effectiveRestoreKind({ restoreKind: 'log' }, { major: 1, minor: 2 }), 'files', 'declared before 1.3, never honoured: still files');
  assert.equal(effectiveRestoreKind({}, { major: 1, minor: 3 }), 'files');
  assert.equal(effectiveRestoreKind({ restoreKind: 'files' }, { major: 2, minor: 0 }), 'files');
  // An old agent keeps loading, at the highest version it speaks.
  const host = { name: 'cairn-fd', version: '0.1.0', supported: API_VERSIONS };
  assert.deepEqual(negotiateVersion({ name: 'old', version: '1.0.0', api: '>=1 <1.3' }, host), { major: 1, minor: 2 });
  assert.deepEqual(negotiateVersion({ name: 'pglog', version: '1.0.0', api: '>=1.3 <2' }, host), API_VERSIONS.at(-1), 'the highest both speak');
  assert.equal(effectiveRestoreKind({ restoreKind: 'log' }, API_VERSIONS.at(-1)!), 'log', 'later minors keep honouring it');
});
