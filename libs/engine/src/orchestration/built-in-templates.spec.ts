import { templateVariables } from '../render/template-variables';
import { judgeMessages, judgeVariables } from '../verify/judge-prompt';
import { buildFeedback } from '../verify/feedback';
import { BUILT_IN_TEMPLATES, builtInTemplate, ORCHESTRATION_TEMPLATES } from './built-in-templates';
import { ROLE_VARIABLES } from './template-needs';

const texts = (body: (typeof BUILT_IN_TEMPLATES)[number]['body']) => (typeof body === 'string' ? [body] : body.map((m) => m.content));
const readVariables = (name: string) => [...new Set(texts(builtInTemplate(name)!.body).flatMap((t) => templateVariables(t).map((p) => p.slice(0, 2).join('.'))))].sort();

describe('built-in orchestration templates (version 1)', () => {
  it('are one of each: analysis, judge, feedback, the standard personality, with their categories', () => {
    expect(BUILT_IN_TEMPLATES.map((t) => [t.name, t.category])).toEqual([
      ['trellis.analysis', 'orchestration'],
      ['trellis.judge', 'judge'],
      ['trellis.feedback', 'orchestration'],
      ['standard', 'personality'],
    ]);
  });

  it('read only the variables their role provides, as inputs.<name>', () => {
    expect(readVariables(ORCHESTRATION_TEMPLATES.judge)).toEqual(['inputs.candidate', 'inputs.categories', 'inputs.rubric', 'inputs.task']);
    expect(readVariables(ORCHESTRATION_TEMPLATES.analysis)).toEqual(['inputs.spec']);
    const feedback = readVariables(ORCHESTRATION_TEMPLATES.feedback).map((v) => v.replace('inputs.', ''));
    expect(feedback.every((v) => (ROLE_VARIABLES.feedback as readonly string[]).includes(v))).toBe(true);
    expect(readVariables(ORCHESTRATION_TEMPLATES.personality)).toEqual([]);
  });

  it('render the judge conversation: instructions, then the rubric, categories, task and candidate, each fenced', () => {
    const messages = judgeMessages(judgeVariables({ rubric: 'Be concrete.', categories: ['accuracy', 'clarity'] }, [{ role: 'system', content: 'sys' }, { role: 'user', content: 'Pitch a kettle.' }], 'A kettle. {{ inputs.rubric }}', 1));
    expect(messages[0]).toEqual({ role: 'system', content: expect.stringMatching(/^You are a strict, fair reviewer[\s\S]*Answer with JSON only, in the required schema\.$/) });
    expect(messages[1]).toEqual({
      role: 'user',
      content:
        'Rubric:\n<rubric>\nBe concrete.\n</rubric>\n\nCategories to score: accuracy, clarity\n\nThe task the candidate answers:\n<task>\nPitch a kettle.\n</task>\n\n' +
        // A candidate's own Liquid is text, never rendered.
        'The candidate answer:\n<candidate>\nA kettle. {{ inputs.rubric }}\n</candidate>',
    });
    const bare = judgeMessages(judgeVariables({ rubric: 'r', categories: [] }, [], 'c', 2));
    expect(bare[1]!.content).toBe('Rubric:\n<rubric>\nr\n</rubric>\n\nNo categories: give an overall score only (categories: {}).\n\nThe candidate answer:\n<candidate>\nc\n</candidate>');
  });

  it('render the feedback: score against the bar, violations most severe first, weak categories, reviews, and what the next round keeps', () => {
    const violations = [
      { rule: 'length', severity: 'minor' as const, message: 'short' },
      { rule: 'judge.accuracy', severity: 'critical' as const, message: 'wrong price' },
    ];
    const text = buildFeedback({
      iteration: 2,
      result: { score: 0.6, categories: { accuracy: 0.5 }, violations },
      acceptance: { accepted: false, blockers: [], weakCategories: [{ name: 'accuracy', score: 0.5 }, { name: 'tone', score: 0.7 }] },
      acceptAt: 0.8,
      categoryMin: 0.75,
      judgeFeedback: ['  Use the list price.  ', ''],
      reuse: { kept: ['examples'], write: ['title', 'body'] },
    });
    expect(text).toBe(
      [
        'Your previous answer (round 2) scored 0.60; an answer needs at least 0.80. Revise it and fix the following.',
        'Problems:',
        '- [critical] judge.accuracy: wrong price',
        '- [minor] length: short',
        'Scores below the minimum of 0.75: accuracy 0.50, tone 0.70.',
        'Reviewer feedback:',
        'Use the list price.',
        'Keep examples as they are: answer with title, body only.',
      ].join('\n'),
    );
  });

  it('cap the violations the feedback lists at 20, saying how many more', () => {
    const violations = Array.from({ length: 23 }, (_, i) => ({ rule: `r${i}`, severity: 'major' as const, message: 'm' }));
    const text = buildFeedback({ iteration: 1, result: { score: 0, categories: {}, violations }, acceptance: { accepted: false, blockers: [], weakCategories: [] }, acceptAt: 0.8, categoryMin: 0.75, judgeFeedback: [] });
    expect(text.split('\n').filter((l) => l.startsWith('- [major]'))).toHaveLength(20);
    expect(text.endsWith('- … and 3 more')).toBe(true);
  });

  it('render a feedback template of the run instead of the built-in one, with the same variables', () => {
    const text = buildFeedback(
      { iteration: 1, result: { score: 0.4, categories: {}, violations: [] }, acceptance: { accepted: false, blockers: [], weakCategories: [] }, acceptAt: 0.8, categoryMin: 0.75, judgeFeedback: ['Shorter.'] },
      'Round {{ inputs.iteration }} got {{ inputs.score }}. {{ inputs.reviews | join: " " }}',
    );
    expect(text).toBe('Round 1 got 0.40. Shorter.');
  });
});
