/* music.js: a gift's background music, played by the browser itself
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The tunes are old public-domain melodies, written here as notes and
 * played with the Web Audio API, so the site ships no recordings. Nothing
 * plays until the visitor presses the button.
 */
'use strict';

(function () {
  /* Note name and octave, then its length in beats. */
  const SCORES = {
    ode_to_joy: 'E4:1 E4:1 F4:1 G4:1 G4:1 F4:1 E4:1 D4:1 C4:1 C4:1 D4:1 E4:1 E4:1.5 D4:0.5 D4:2',
    jingle_bells: 'E4:1 E4:1 E4:2 E4:1 E4:1 E4:2 E4:1 G4:1 C4:1.5 D4:0.5 E4:4 ' +
                  'F4:1 F4:1 F4:1.5 F4:0.5 F4:1 E4:1 E4:1 E4:1 E4:1 D4:1 D4:1 E4:1 D4:2 G4:2',
    fur_elise: 'E5:0.5 D#5:0.5 E5:0.5 D#5:0.5 E5:0.5 B4:0.5 D5:0.5 C5:0.5 A4:1.5 ' +
               'C4:0.5 E4:0.5 A4:0.5 B4:1.5 E4:0.5 G#4:0.5 B4:0.5 C5:2',
    canon: 'F#5:2 E5:2 D5:2 C#5:2 B4:2 A4:2 B4:2 C#5:2',
    twinkle: 'C4:1 C4:1 G4:1 G4:1 A4:1 A4:1 G4:2 F4:1 F4:1 E4:1 E4:1 D4:1 D4:1 C4:2',
    happy_birthday: 'G4:0.75 G4:0.25 A4:1 G4:1 C5:1 B4:2 G4:0.75 G4:0.25 A4:1 G4:1 D5:1 C5:2',
  };
  const TUNES = ['none'].concat (Object.keys (SCORES));
  const STEPS = { C: -9, 'C#': -8, D: -7, 'D#': -6, E: -5, F: -4, 'F#': -3, G: -2, 'G#': -1,
                  A: 0, 'A#': 1, B: 2 };
  const BEAT = 0.4;   /* seconds */

  let context = null;
  let playing = null;   /* { nodes, button, timer } */

  function frequency (note) {
    const [, name, octave] = note.match (/^([A-G]#?)(\d)$/);
    return 440 * Math.pow (2, (STEPS[name] + 12 * (Number (octave) - 4)) / 12);
  }

  function stop () {
    if (!playing)
      return;
    for (const node of playing.nodes)
      node.stop ();
    clearTimeout (playing.timer);
    Site.setText (playing.button, 'music.play');
    playing.button.setAttribute ('aria-pressed', 'false');
    playing = null;
  }

  function play (tune, button) {
    stop ();
    if (!SCORES[tune])
      return;
    context = context || new AudioContext ();
    let t = context.currentTime + 0.05;
    const nodes = [];
    for (const token of SCORES[tune].split (' ')) {
      const [note, beats] = token.split (':');
      const length = Number (beats) * BEAT;
      const osc = context.createOscillator ();
      const gain = context.createGain ();
      osc.type = 'triangle';
      osc.frequency.value = frequency (note);
      gain.gain.setValueAtTime (0.0001, t);
      gain.gain.exponentialRampToValueAtTime (0.2, t + 0.02);
      gain.gain.exponentialRampToValueAtTime (0.0001, t + length * 0.95);
      osc.connect (gain).connect (context.destination);
      osc.start (t);
      osc.stop (t + length);
      nodes.push (osc);
      t += length;
    }
    Site.setText (button, 'music.stop');
    button.setAttribute ('aria-pressed', 'true');
    playing = { nodes, button, timer: setTimeout (stop, (t - context.currentTime) * 1000) };
  }

  /* A toggle that plays the tune @tune () names. */
  function button (tune) {
    const b = Site.el ('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false',
                                   i18n: ['music.play'] });
    b.addEventListener ('click', () => {
      if (playing && playing.button === b)
        stop ();
      else
        play (tune (), b);
    });
    return b;
  }

  window.addEventListener ('pagehide', stop);
  Site.music = { TUNES, button, play, stop };
}) ();
