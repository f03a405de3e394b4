import { describe, expect, it } from 'vitest';
import type { UiError } from '../lib/api';
import { XFYUN_ACCOUNT } from '../test/fixtures';
import { DISK_ACCOUNT } from './fixtures';
import {
  buildWatchInput,
  checkWatchValues,
  emptyWatchValues,
  errorField,
  fieldMessage,
  parsePatterns,
  parseQuiet,
  type WatchFormValues,
} from './watchForm';

const values = (over: Partial<WatchFormValues> = {}): WatchFormValues => ({
  ...emptyWatchValues([DISK_ACCOUNT]),
  dir: '/home/me/Pictures/Import',
  ...over,
});

describe('parsePatterns', () => {
  it('splits on commas and new lines, trims, drops empty ones and repeats', () => {
    expect(parsePatterns('*.jpg, *.png\n raw/** \r\n\n,, *.jpg')).toEqual(['*.jpg', '*.png', 'raw/**']);
    expect(parsePatterns('')).toEqual([]);
    expect(parsePatterns(' \n , ')).toEqual([]);
  });

  it('keeps commas inside {alternatives} and [classes] as part of the pattern', () => {
    expect(parsePatterns('*.{jpg,jpeg,png}, IMG_[0,9]*.raw')).toEqual(['*.{jpg,jpeg,png}', 'IMG_[0,9]*.raw']);
    expect(parsePatterns('a{b,{c,d}}e,f')).toEqual(['a{b,{c,d}}e', 'f']);
  });

  it('keeps spaces inside a pattern', () => {
    expect(parsePatterns('Screen Recording *.mov')).toEqual(['Screen Recording *.mov']);
  });

  it('does not let an unclosed brace swallow the next line', () => {
    expect(parsePatterns('*.{jpg\n*.png')).toEqual(['*.{jpg', '*.png']);
  });
});

describe('parseQuiet', () => {
  it('takes whole seconds from 1 to 3600', () => {
    expect(parseQuiet(' 3 ')).toEqual({ ok: true, secs: 3 });
    expect(parseQuiet('1')).toEqual({ ok: true, secs: 1 });
    expect(parseQuiet('3600')).toEqual({ ok: true, secs: 3600 });
  });

  it.each(['', '0', '3601', '2.5', '-1', 'abc', '1e2'])('refuses %j', (text) => {
    expect(parseQuiet(text)).toEqual({ ok: false, error: 'watches.errorQuiet' });
  });
});

describe('emptyWatchValues', () => {
  it('starts on the first account, sub-folders included, a 3 s quiet period, files kept', () => {
    expect(emptyWatchValues([DISK_ACCOUNT, XFYUN_ACCOUNT])).toEqual({
      dir: '',
      account: 'disk',
      dest: '',
      include: '',
      exclude: '',
      quiet: '3',
      after: 'keep',
      moveDir: '',
      recursive: true,
    });
    expect(emptyWatchValues([]).account).toBe('');
    expect(emptyWatchValues(null).account).toBe('');
  });
});

describe('checkWatchValues', () => {
  it('passes a filled-in form', () => {
    expect(checkWatchValues(values())).toEqual({});
  });

  it('names every field left empty or wrong', () => {
    expect(checkWatchValues(values({ dir: '  ', account: '', quiet: '0', after: 'move', moveDir: ' ' }))).toEqual({
      dir: 'watches.errorDir',
      account: 'watches.errorAccount',
      quiet: 'watches.errorQuiet',
      after: 'watches.errorMoveDir',
    });
  });

  it('needs the move folder only when moving', () => {
    expect(checkWatchValues(values({ after: 'delete', moveDir: '' }))).toEqual({});
  });
});

describe('buildWatchInput', () => {
  it('turns the values into the WatchInput the Rust side takes', () => {
    expect(
      buildWatchInput(
        values({
          dir: '  /home/me/Pictures/Import ',
          dest: ' /camera/2024/ ',
          include: '*.jpg, *.{cr2,nef}\nvideo/**',
          exclude: '*.raw',
          quiet: ' 10 ',
          after: 'move',
          moveDir: ' /home/me/Uploaded ',
          recursive: false,
        }),
      ),
    ).toEqual({
      dir: '/home/me/Pictures/Import',
      account: 'disk',
      dest: 'camera/2024',
      include: ['*.jpg', '*.{cr2,nef}', 'video/**'],
      exclude: ['*.raw'],
      after: { kind: 'move', dir: '/home/me/Uploaded' },
      quiet_secs: 10,
      recursive: false,
    });
  });

  it('sends keep and delete without a folder, whatever was typed for moving', () => {
    expect(buildWatchInput(values({ moveDir: '/x' })).after).toEqual({ kind: 'keep' });
    expect(buildWatchInput(values({ after: 'delete', moveDir: '/x' })).after).toEqual({ kind: 'delete' });
  });

  it('sends empty rules as empty lists', () => {
    const input = buildWatchInput(values());
    expect(input.include).toEqual([]);
    expect(input.exclude).toEqual([]);
    expect(input.dest).toBe('');
    expect(input.quiet_secs).toBe(3);
  });
});

describe('errors from the Rust side', () => {
  const err = (field: string | null, message: string): UiError => ({ kind: 'invalid_input', field, message });

  it('map each named field onto the form field showing it', () => {
    expect(errorField(err('dir', 'dir: must be an absolute folder path'))).toBe('dir');
    expect(errorField(err('account', 'account: no account named "x"'))).toBe('account');
    expect(errorField(err('include', 'x'))).toBe('include');
    expect(errorField(err('exclude', 'x'))).toBe('exclude');
    expect(errorField(err('after', 'x'))).toBe('after');
    expect(errorField(err('quiet_secs', 'x'))).toBe('quiet');
  });

  it('send errors of no form field to the banner', () => {
    expect(errorField(err(null, 'database is locked'))).toBeNull();
    expect(errorField(err('watch', 'no watch 4'))).toBeNull();
  });

  it('drop the "field: " prefix next to the field', () => {
    expect(fieldMessage(err('dir', 'dir: must be an absolute folder path'))).toBe('must be an absolute folder path');
    expect(fieldMessage(err('quiet_secs', 'quiet_secs: the quiet period must be 1 to 3600 seconds'))).toBe(
      'the quiet period must be 1 to 3600 seconds',
    );
    expect(fieldMessage(err('dir', 'something else'))).toBe('something else');
  });
});
