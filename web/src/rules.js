// The rule values the client needs, as sent in welcome.rules (named by the
// `rule` tags of ecs/config.go). The defaults are DESIGN.md's and only stand
// in for a rule a server does not send.
const DEFAULT_RULES = {
  tick_rate: 30,
  arena_w: 3000,
  arena_h: 3000,
  gravity: 30000,
  radius_factor: 4,
  top_speed: 220,
  speed_exponent: -0.22,
  acceleration: 900,
  drag: 1.5,
  boost_factor: 2,
  boost_floor: 15,
  obstacle_radius: 30,
  view_w: 600,
  view_h: 340,
  view_growth: 40,
};

export function makeRules(sent) {
  const rules = { ...DEFAULT_RULES };
  for (const [name, value] of Object.entries(sent ?? {})) {
    if (typeof value === 'number' && Number.isFinite(value)) rules[name] = value;
  }
  return rules;
}

export function radiusOf(rules, mass) {
  return rules.radius_factor * Math.sqrt(Math.max(mass, 0));
}

// Half-size of the rectangle the server shows a marble of this mass.
export function viewHalfSize(rules, mass) {
  const scale = 1 + Math.sqrt(Math.max(mass, 0)) / rules.view_growth;
  return { w: rules.view_w * scale, h: rules.view_h * scale };
}
