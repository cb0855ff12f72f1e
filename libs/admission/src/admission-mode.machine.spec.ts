import { AdmissionModeMachine } from './admission-mode.machine';
import { IllegalModeTransitionError } from './illegal-mode-transition.error';

/** A machine driven into `mode` through legal transitions only. */
function inMode(mode: 'shared' | 'fallback' | 'resuming'): AdmissionModeMachine {
  const m = new AdmissionModeMachine();
  if (mode !== 'shared') m.leaveShared();
  if (mode === 'resuming') m.beginResume(true);
  expect(m.mode).toBe(mode);
  return m;
}

describe('AdmissionModeMachine', () => {
  it('starts shared, the only mode that admits against Redis', () => {
    const m = new AdmissionModeMachine();
    expect(m.mode).toBe('shared');
    expect(m.shared).toBe(true);
    expect(inMode('fallback').shared).toBe(false);
    expect(inMode('resuming').shared).toBe(false);
  });

  describe('leaveShared', () => {
    it('shared → fallback, once', () => {
      const m = inMode('shared');
      expect(m.leaveShared()).toBe(true);
      expect(m.mode).toBe('fallback');
    });

    it('in fallback: already away, nothing changes', () => {
      const m = inMode('fallback');
      expect(m.leaveShared()).toBe(false);
      expect(m.mode).toBe('fallback');
    });

    it('while resuming: the resume decides, a failure of its own abandons it', () => {
      const m = inMode('resuming');
      expect(m.leaveShared()).toBe(false);
      expect(m.mode).toBe('resuming');
    });
  });

  describe('beginResume', () => {
    it('fallback → resuming when Redis answers', () => {
      const m = inMode('fallback');
      expect(m.beginResume(true)).toBe(true);
      expect(m.mode).toBe('resuming');
    });

    it('guard: not while Redis is unavailable', () => {
      const m = inMode('fallback');
      expect(m.beginResume(false)).toBe(false);
      expect(m.mode).toBe('fallback');
    });

    it('guard: one resume at a time', () => {
      const m = inMode('resuming');
      expect(m.beginResume(true)).toBe(false);
      expect(m.mode).toBe('resuming');
    });

    it('guard: nothing to resume in shared mode', () => {
      const m = inMode('shared');
      expect(m.beginResume(true)).toBe(false);
      expect(m.mode).toBe('shared');
    });
  });

  describe('finishResume', () => {
    it('resuming → shared', () => {
      const m = inMode('resuming');
      m.finishResume();
      expect(m.mode).toBe('shared');
      expect(m.shared).toBe(true);
    });

    it.each(['shared', 'fallback'] as const)('illegal in %s: throws, mode unchanged', (mode) => {
      const m = inMode(mode);
      expect(() => m.finishResume()).toThrow(IllegalModeTransitionError);
      expect(m.mode).toBe(mode);
    });
  });

  describe('abandonResume', () => {
    it('resuming → fallback, and a later resume may begin', () => {
      const m = inMode('resuming');
      m.abandonResume();
      expect(m.mode).toBe('fallback');
      expect(m.beginResume(true)).toBe(true);
    });

    it.each(['shared', 'fallback'] as const)('illegal in %s: throws, mode unchanged', (mode) => {
      const m = inMode(mode);
      expect(() => m.abandonResume()).toThrow(
        expect.objectContaining({ from: mode, transition: 'abandonResume' }),
      );
      expect(m.mode).toBe(mode);
    });
  });

  it('a whole outage: shared → fallback → resuming → fallback → resuming → shared', () => {
    const m = new AdmissionModeMachine();
    expect(m.leaveShared()).toBe(true);
    expect(m.beginResume(true)).toBe(true);
    m.abandonResume();
    expect(m.beginResume(true)).toBe(true);
    m.finishResume();
    expect(m.mode).toBe('shared');
    expect(m.leaveShared()).toBe(true);
  });
});
